"""Small helpers over the OpenTelemetry API for code that crosses process boundaries."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "PROPAGATOR",
    "current_span_id",
    "current_trace_id",
    "extract_context",
    "inject_headers",
    "with_run_baggage",
]

PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
propagate.set_global_textmap(PROPAGATOR)


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


def extract_context(headers: Mapping[str, str]) -> context.Context:
    return PROPAGATOR.extract(dict(headers))


def with_run_baggage(run_id: str, tenant: str) -> context.Context:
    """The current context plus `run_id` and `tenant` baggage for every later hop."""
    ctx = baggage.set_baggage("run_id", run_id)
    return baggage.set_baggage("tenant", tenant, context=ctx)
