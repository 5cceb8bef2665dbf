"""Small helpers over the OpenTelemetry API for code that crosses process boundaries."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import Span, SpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pulse_telemetry.context import (
    ATTR_RUN_ID,
    ATTR_TENANT,
    BAGGAGE_RUN_ID,
    BAGGAGE_TENANT,
    bound_run_fields,
    run_baggage,
)

__all__ = [
    "PROPAGATOR",
    "RunAttributesProcessor",
    "current_span_id",
    "current_trace_id",
    "extract_baggage",
    "extract_context",
    "inject_headers",
    "with_run_baggage",
]

PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
propagate.set_global_textmap(PROPAGATOR)
_BAGGAGE = W3CBaggagePropagator()


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def current_span_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.span_id, "016x") if ctx.is_valid else None


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """W3C `traceparent`, `tracestate` and `baggage` of the current context."""
    carrier: dict[str, str] = dict(headers or {})
    PROPAGATOR.inject(carrier)
    return carrier


def _baggage_only(ctx: context.Context | None = None) -> context.Context:
    fresh = context.Context()
    for key, value in baggage.get_all(ctx).items():
        fresh = baggage.set_baggage(key, value, context=fresh)
    return fresh


def extract_context(headers: Mapping[str, str]) -> context.Context:
    """The span context stored in `headers`, keeping the current baggage.

    Entries of a `baggage` header in `headers` win over the current ones; the current span
    is never kept, so headers without `traceparent` give a context with no parent.
    """
    return PROPAGATOR.extract(dict(headers), context=_baggage_only())


def extract_baggage(headers: Mapping[str, str]) -> context.Context:
    """The current context with the baggage of `headers` instead of its own (what a
    consumer attaches): a message without baggage must not inherit a previous one's."""
    return _BAGGAGE.extract(dict(headers), context=baggage.clear())


def with_run_baggage(run_id: str, tenant: str) -> context.Context:
    """The current context plus `run_id` and `tenant` baggage for every later hop."""
    return run_baggage(run_id, tenant)


class RunAttributesProcessor(SpanProcessor):
    """Stamps `pulse.run_id` and `pulse.tenant` on every span started for a run.

    The run comes from what the code bound (`bind_run`, `run_scope`) or else from the
    baggage of the span's parent context; attributes the span already has are kept, and a
    span started under `run_scope(None)` with a parent context without run baggage (work
    for several runs at once) gets none.
    `pulse.step_id` is left to the code that knows the step: a handler bound to one step
    often publishes for another (the executor dispatching what became ready).
    """

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        bound = bound_run_fields()
        run_id = bound.get("run_id") or baggage.get_baggage(BAGGAGE_RUN_ID, parent_context)
        tenant = bound.get("tenant") or baggage.get_baggage(BAGGAGE_TENANT, parent_context)
        present = span.attributes or {}
        if run_id and ATTR_RUN_ID not in present:
            span.set_attribute(ATTR_RUN_ID, str(run_id))
        if tenant and ATTR_TENANT not in present:
            span.set_attribute(ATTR_TENANT, str(tenant))
