"""The span of one batch write: `archive <n> events`, in the trace of the events it stores.

A batch is written by whichever task drains the group commit, so the span does not take
the writer's context: its parent is the consume span of the batch's first event (captured
when that event was submitted) and the other events' consume spans are links. It carries
`pulse.run_id` and `pulse.tenant` only when every event belongs to the same run (tenant).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind

from pulse_contracts import RunEvent
from pulse_telemetry import run_scope

__all__ = ["TRACER_NAME", "batch_write_span"]

TRACER_NAME: Final = "pulse.archiver"


def _only(values: set[str]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None


@contextmanager
def batch_write_span(
    events: Sequence[RunEvent],
    contexts: Sequence[Context | None],
    tracer: trace.Tracer | None = None,
) -> Iterator[Span]:
    """A span around writing `events`; `contexts` are their submitters' (None: unknown).

    `tracer` defaults to the process' tracer provider, the one `setup_telemetry` installs.
    """
    parent = next((c for c in contexts if c is not None), None)
    parent_span = trace.get_current_span(parent) if parent is not None else None
    links = [
        Link(ctx)
        for c in contexts
        if c is not None
        and (ctx := trace.get_current_span(c).get_span_context()).is_valid
        and (parent_span is None or ctx != parent_span.get_span_context())
    ]
    run_id = _only({e.run_id for e in events})
    tenant = _only({e.tenant for e in events})
    attributes: dict[str, str | int] = {
        "db.system.name": "postgresql",
        "db.operation.name": "archive",
        "pulse.events": len(events),
        "pulse.runs": len({e.run_id for e in events}),
    }
    if run_id is not None:
        attributes["pulse.run_id"] = run_id
    if tenant is not None:
        attributes["pulse.tenant"] = tenant
    # The parent keeps its span, not its baggage: a batch of several runs must not be
    # stamped with the first one's run id (pulse_telemetry.RunAttributesProcessor).
    start_in = (
        trace.set_span_in_context(parent_span, Context()) if parent_span is not None else None
    )
    tracer = tracer or trace.get_tracer(TRACER_NAME)
    scope = run_scope(None) if run_id is None else nullcontext()
    with (
        scope,
        tracer.start_as_current_span(
            f"archive {len(events)} events",
            context=start_in,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            links=links,
        ) as span,
    ):
        yield span
