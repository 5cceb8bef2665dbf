"""Submitting a run and reading it back, over whichever run store and publisher are wired in.

A submission first creates the run's state (create-only, so the run id is claimed exactly
once), then publishes `RunRequested`. With an idempotency key the run id is derived from
(tenant, key), so a repeat finds the state already there and returns that run instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from opentelemetry import context as otel_context

from pulse_contracts import JsonValue, PulseError, RunState, utcnow
from pulse_gateway.adapters.ports import BusUnavailableError, RunRequestPublisher, RunStore
from pulse_gateway.domain import (
    is_run_id,
    may_request_again,
    new_run_id,
    new_run_state,
    requested_message,
)
from pulse_telemetry import current_trace_id, extract_context, inject_headers, run_scope
from pulse_telemetry.tracing import with_run_baggage

__all__ = ["RunIdTakenError", "RunIntake", "Submission"]

log = logging.getLogger(__name__)


class RunIdTakenError(PulseError):
    """The derived run id belongs to another tenant's run (a hash collision, in practice never)."""


@dataclass(frozen=True)
class Submission:
    state: RunState
    created: bool
    """False when an idempotency key led to a run that already existed."""


def _trace_headers() -> dict[str, str]:
    headers = inject_headers()
    return {k: v for k, v in headers.items() if k in ("traceparent", "tracestate")}


@contextmanager
def _attached(ctx: otel_context.Context) -> Iterator[None]:
    token = otel_context.attach(ctx)
    try:
        yield
    finally:
        otel_context.detach(token)


class RunIntake:
    def __init__(
        self,
        store: RunStore,
        publisher: RunRequestPublisher,
        *,
        duplicate_window_s: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._duplicate_window_s = duplicate_window_s
        self._clock = clock

    async def submit(
        self,
        *,
        tenant: str,
        prompt: str,
        metadata: dict[str, JsonValue],
        idempotency_key: str | None,
    ) -> Submission:
        run_id = new_run_id(tenant, idempotency_key)
        with run_scope(run_id, tenant=tenant):
            # The current span is the HTTP request's: it becomes the root of the run's trace,
            # and its context is kept so later hops (and a resend) can join that trace.
            state = new_run_state(
                run_id=run_id,
                tenant=tenant,
                prompt=prompt,
                metadata=metadata,
                trace_id=current_trace_id(),
                trace_context=_trace_headers(),
                now=self._clock(),
            )
            if await self._store.create(state):
                await self._request(state, idempotency_key, replay=False)
                log.info("run submitted")
                return Submission(state, created=True)
            existing = await self._store.get(run_id)
            if existing is None:
                raise BusUnavailableError("run state vanished while being read", run_id=run_id)
            if existing.tenant != tenant:
                raise RunIdTakenError("run id already belongs to another tenant", run_id=run_id)
            if may_request_again(
                existing, now=self._clock(), duplicate_window_s=self._duplicate_window_s
            ):
                # A previous attempt may have stored the state and died before publishing;
                # the stable message id makes this a no-op if it did publish.
                await self._request(existing, idempotency_key, replay=True)
            log.info("idempotent resubmission returned run in status %s", existing.status)
            return Submission(existing, created=False)

    async def _request(self, state: RunState, idempotency_key: str | None, *, replay: bool) -> None:
        message = requested_message(state, idempotency_key)
        base = (
            extract_context(state.trace_context)
            if replay and state.trace_context
            else otel_context.get_current()
        )
        with _attached(base), _attached(with_run_baggage(state.run_id, state.tenant)):
            await self._publisher.publish(message)

    async def find(self, *, tenant: str, run_id: str) -> RunState | None:
        """The run if it exists AND belongs to `tenant`; another tenant's run is None."""
        if not is_run_id(run_id):
            return None
        with run_scope(run_id, tenant=tenant):
            state = await self._store.get(run_id)
        if state is None or state.tenant != tenant:
            return None
        return state
