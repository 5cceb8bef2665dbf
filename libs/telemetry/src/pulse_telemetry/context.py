"""Which run, step and tenant the current code works for, so every log line and span can say so.

Binding a run does three things: log lines get `run_id`, `step_id` and `tenant`; the run id
and tenant go into the OpenTelemetry baggage, so every message published afterwards carries
them to the next hop in its `baggage` header; and the current span (a message's consume
span, an HTTP request's span) gets the attributes `pulse.run_id`, `pulse.tenant` and
`pulse.step_id`. Where nothing is bound, log lines fall back to the baggage that arrived
with the message (`pulse_broker` puts it in the context on consume).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context

__all__ = [
    "ATTR_RUN_ID",
    "ATTR_STEP_ID",
    "ATTR_TENANT",
    "BAGGAGE_RUN_ID",
    "BAGGAGE_TENANT",
    "bind_run",
    "bound_run_fields",
    "current_run_fields",
    "run_attributes",
    "run_baggage",
    "run_scope",
]

BAGGAGE_RUN_ID: Final = "run_id"
BAGGAGE_TENANT: Final = "tenant"
ATTR_RUN_ID: Final = "pulse.run_id"
ATTR_TENANT: Final = "pulse.tenant"
ATTR_STEP_ID: Final = "pulse.step_id"

_run_id: ContextVar[str | None] = ContextVar("pulse_run_id", default=None)
_step_id: ContextVar[str | None] = ContextVar("pulse_step_id", default=None)
_tenant: ContextVar[str | None] = ContextVar("pulse_tenant", default=None)


def run_baggage(
    run_id: str | None, tenant: str | None, ctx: otel_context.Context | None = None
) -> otel_context.Context:
    """`ctx` (default: the current context) with `run_id` and `tenant` in its baggage."""
    ctx = ctx if ctx is not None else otel_context.get_current()
    if run_id:
        ctx = baggage.set_baggage(BAGGAGE_RUN_ID, run_id, context=ctx)
    if tenant:
        ctx = baggage.set_baggage(BAGGAGE_TENANT, tenant, context=ctx)
    return ctx


def run_attributes(
    run_id: str | None, tenant: str | None, step_id: str | None = None
) -> dict[str, str]:
    """`pulse.run_id`, `pulse.tenant`, `pulse.step_id` span attributes — those known."""
    known = ((ATTR_RUN_ID, run_id), (ATTR_TENANT, tenant), (ATTR_STEP_ID, step_id))
    return {key: value for key, value in known if value}


def _tag_current_span(run_id: str | None, step_id: str | None, tenant: str | None) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(run_attributes(run_id, tenant, step_id))


def bind_run(run_id: str | None, step_id: str | None = None, tenant: str | None = None) -> None:
    """Bind for the rest of the current task (each message handler runs in its own task).

    The baggage is attached without being detached on purpose: it belongs to the task, like
    the bound fields, and the consume middleware's own detach restores the context after
    the handler.
    """
    _run_id.set(run_id)
    _step_id.set(step_id)
    _tenant.set(tenant)
    otel_context.attach(run_baggage(run_id, tenant))
    _tag_current_span(run_id, step_id, tenant)


@contextmanager
def run_scope(
    run_id: str | None, step_id: str | None = None, tenant: str | None = None
) -> Iterator[None]:
    """Bind a run for the `with` block only."""
    tokens = (_run_id.set(run_id), _step_id.set(step_id), _tenant.set(tenant))
    ctx_token = otel_context.attach(run_baggage(run_id, tenant))
    _tag_current_span(run_id, step_id, tenant)
    try:
        yield
    finally:
        otel_context.detach(ctx_token)
        _run_id.reset(tokens[0])
        _step_id.reset(tokens[1])
        _tenant.reset(tokens[2])


def _from_baggage(key: str) -> str | None:
    value = baggage.get_baggage(key)
    return str(value) if value else None


def bound_run_fields() -> dict[str, str]:
    """`run_id`, `step_id`, `tenant` as bound by `bind_run` / `run_scope`; only those set."""
    fields = {"run_id": _run_id.get(), "step_id": _step_id.get(), "tenant": _tenant.get()}
    return {k: v for k, v in fields.items() if v}


def current_run_fields() -> dict[str, str]:
    """`run_id`, `step_id`, `tenant` as bound, else from the baggage; only those known."""
    fields = {
        "run_id": _run_id.get() or _from_baggage(BAGGAGE_RUN_ID),
        "step_id": _step_id.get(),
        "tenant": _tenant.get() or _from_baggage(BAGGAGE_TENANT),
    }
    return {k: v for k, v in fields.items() if v is not None}
