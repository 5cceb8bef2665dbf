"""Baggage and span attributes follow the run a handler binds, and survive re-parenting."""

from __future__ import annotations

import asyncio

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pulse_telemetry import (
    RunAttributesProcessor,
    bind_run,
    current_run_fields,
    extract_baggage,
    extract_context,
    inject_headers,
    run_scope,
)


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RunAttributesProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


async def test_bind_run_puts_run_and_tenant_in_the_headers_of_every_later_publish() -> None:
    async def handler() -> dict[str, str]:
        bind_run("run-1", "s1", "acme")
        return inject_headers({"Nats-Msg-Id": "m"})

    headers = await asyncio.create_task(handler())  # a task of its own, like a handler
    assert headers["Nats-Msg-Id"] == "m"
    assert "run_id=run-1" in headers["baggage"]
    assert "tenant=acme" in headers["baggage"]
    assert "step_id" not in headers["baggage"]
    assert baggage.get_baggage("run_id") is None  # the caller's context is untouched


def test_run_scope_adds_baggage_for_its_block_only() -> None:
    with run_scope("run-2", tenant="globex"):
        inside = inject_headers()
    assert "run_id=run-2" in inside["baggage"]
    assert "baggage" not in inject_headers()
    assert current_run_fields() == {}


def test_binding_tags_the_current_span() -> None:
    provider, exporter = _provider()
    with provider.get_tracer("t").start_as_current_span("consume"), run_scope("r", "s4", "t1"):
        pass
    (span,) = exporter.get_finished_spans()
    attributes = _attributes(span)
    assert attributes["pulse.run_id"] == "r"
    assert attributes["pulse.tenant"] == "t1"
    assert attributes["pulse.step_id"] == "s4"


def test_baggage_arriving_in_headers_is_what_log_lines_fall_back_to() -> None:
    token = otel_context.attach(extract_baggage({"baggage": "run_id=run-9,tenant=acme"}))
    try:
        assert current_run_fields() == {"run_id": "run-9", "tenant": "acme"}
    finally:
        otel_context.detach(token)


def test_extract_context_takes_the_stored_span_and_keeps_the_current_baggage() -> None:
    provider, _ = _provider()
    with provider.get_tracer("t").start_as_current_span("plan created") as stored:
        trace_context = {k: v for k, v in inject_headers().items() if k == "traceparent"}
    with run_scope("run-3", tenant="acme"):
        ctx = extract_context(trace_context)
    extracted = trace.get_current_span(ctx).get_span_context()
    assert (extracted.trace_id, extracted.span_id) == (
        stored.get_span_context().trace_id,
        stored.get_span_context().span_id,
    )
    assert baggage.get_baggage("run_id", ctx) == "run-3"
    assert baggage.get_baggage("tenant", ctx) == "acme"


def test_stored_baggage_wins_over_the_current_one() -> None:
    with run_scope("run-current", tenant="acme"):
        ctx = extract_context({"baggage": "run_id=run-stored"})
    assert baggage.get_baggage("run_id", ctx) == "run-stored"
    assert baggage.get_baggage("tenant", ctx) == "acme"


def test_every_span_of_a_bound_run_carries_run_and_tenant() -> None:
    provider, exporter = _provider()
    tracer = provider.get_tracer("t")
    with run_scope("run-4", "s1", "acme"), tracer.start_as_current_span("publish"):
        pass
    (span,) = exporter.get_finished_spans()
    attributes = _attributes(span)
    assert (attributes["pulse.run_id"], attributes["pulse.tenant"]) == ("run-4", "acme")
    # The step is the business of code that knows it: a handler for s1 may dispatch s2.
    assert "pulse.step_id" not in attributes


def test_spans_take_the_run_from_their_parents_baggage_and_keep_their_own() -> None:
    provider, exporter = _provider()
    tracer = provider.get_tracer("t")
    parent = extract_baggage({"baggage": "run_id=run-5,tenant=globex"})
    tracer.start_span("from baggage", context=parent).end()
    tracer.start_span("explicit", context=parent, attributes={"pulse.run_id": "own"}).end()
    tracer.start_span("no run").end()
    spans = {s.name: _attributes(s) for s in exporter.get_finished_spans()}
    assert spans["from baggage"]["pulse.run_id"] == "run-5"
    assert spans["from baggage"]["pulse.tenant"] == "globex"
    assert spans["explicit"]["pulse.run_id"] == "own"
    assert "pulse.run_id" not in spans["no run"]


def test_a_consumed_message_brings_its_own_baggage_or_none() -> None:
    with run_scope("run-previous", tenant="acme"):
        ctx = extract_baggage({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
        ours = extract_baggage({"baggage": "run_id=run-6"})
    assert baggage.get_all(ctx) == {}
    assert baggage.get_all(ours) == {"run_id": "run-6"}
