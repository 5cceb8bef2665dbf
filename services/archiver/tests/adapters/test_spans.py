"""The batch write span: named for its size, in the trace of the events it writes."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pulse_archiver.adapters.spans import batch_write_span
from pulse_contracts import RunEvent
from pulse_telemetry import RunAttributesProcessor, run_scope

RunFactory = Callable[..., list[RunEvent]]


def _tracing() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RunAttributesProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def _consume(tracer: trace.Tracer, event: RunEvent) -> tuple[otel_context.Context, ReadableSpan]:
    """The context a handler submits from: inside its consume span, its run bound."""
    with (
        tracer.start_as_current_span(f"pulse.runs.events.{event.run_id} process") as span,
        run_scope(event.run_id, tenant=event.tenant),
    ):
        return otel_context.get_current(), span  # type: ignore[return-value]


def _written(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("archive ")]
    return span


def test_a_batch_of_one_run_is_a_child_of_the_first_consume_span(make_run: RunFactory) -> None:
    tracer, exporter = _tracing()
    events = make_run("run-a", "acme")[:3]
    submitted = [_consume(tracer, e) for e in events]
    with batch_write_span(events, [ctx for ctx, _ in submitted], tracer):
        pass
    span = _written(exporter)
    first, others = submitted[0][1], [s for _, s in submitted[1:]]
    assert span.name == "archive 3 events"
    assert span.kind is trace.SpanKind.CLIENT
    assert span.parent is not None
    assert span.parent.span_id == first.get_span_context().span_id
    assert span.context is not None
    assert span.context.trace_id == first.get_span_context().trace_id
    assert [link.context.span_id for link in span.links] == [
        s.get_span_context().span_id for s in others
    ]
    attributes = dict(span.attributes or {})
    assert attributes["pulse.run_id"] == "run-a"
    assert attributes["pulse.tenant"] == "acme"
    assert attributes["pulse.events"] == 3
    assert attributes["db.system.name"] == "postgresql"


def test_a_batch_of_several_runs_names_none_of_them(make_run: RunFactory) -> None:
    tracer, exporter = _tracing()
    events = [make_run("run-a", "acme")[0], make_run("run-b", "acme")[0]]
    submitted = [_consume(tracer, e) for e in events]
    # The writer task runs in the first submitter's context, run bound and all.
    with (
        run_scope("run-a", tenant="acme"),
        batch_write_span(events, [ctx for ctx, _ in submitted], tracer),
    ):
        pass
    attributes = dict(_written(exporter).attributes or {})
    assert "pulse.run_id" not in attributes
    assert attributes["pulse.tenant"] == "acme"
    assert attributes["pulse.runs"] == 2


def test_a_failed_write_marks_the_span(make_run: RunFactory) -> None:
    tracer, exporter = _tracing()
    events = make_run("run-a", "acme")[:1]
    try:
        with batch_write_span(events, [None], tracer):
            raise ConnectionError("server closed the connection")
    except ConnectionError:
        pass
    span = _written(exporter)
    assert span.name == "archive 1 events"
    assert span.status.status_code is trace.StatusCode.ERROR
