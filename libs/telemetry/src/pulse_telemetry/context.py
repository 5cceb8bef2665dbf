"""Which run, step and tenant the current code works for, so every log line can say so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["bind_run", "current_run_fields", "run_scope"]

_run_id: ContextVar[str | None] = ContextVar("pulse_run_id", default=None)
_step_id: ContextVar[str | None] = ContextVar("pulse_step_id", default=None)
_tenant: ContextVar[str | None] = ContextVar("pulse_tenant", default=None)


def bind_run(run_id: str | None, step_id: str | None = None, tenant: str | None = None) -> None:
    """Bind for the rest of the current task (each message handler runs in its own task)."""
    _run_id.set(run_id)
    _step_id.set(step_id)
    _tenant.set(tenant)


@contextmanager
def run_scope(
    run_id: str | None, step_id: str | None = None, tenant: str | None = None
) -> Iterator[None]:
    tokens = (_run_id.set(run_id), _step_id.set(step_id), _tenant.set(tenant))
    try:
        yield
    finally:
        _run_id.reset(tokens[0])
        _step_id.reset(tokens[1])
        _tenant.reset(tokens[2])


def current_run_fields() -> dict[str, str]:
    fields = {"run_id": _run_id.get(), "step_id": _step_id.get(), "tenant": _tenant.get()}
    return {k: v for k, v in fields.items() if v is not None}
