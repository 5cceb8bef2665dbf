"""Canceling and restarting a run: check it belongs to the caller and may be, then ask the
executor (`CancelRun` / `RestartRun` on PULSE_RUNS) and answer with the run as it is."""

from __future__ import annotations

import logging

from pulse_contracts import PulseError, RunState
from pulse_gateway.adapters.ports import RunControlPublisher, RunStore
from pulse_gateway.domain import (
    cancel_command,
    is_run_id,
    may_cancel,
    may_restart,
    restart_command,
)
from pulse_telemetry import run_scope

__all__ = ["RunControl", "RunNotFoundError", "RunStatusConflictError"]

log = logging.getLogger(__name__)


class RunNotFoundError(PulseError):
    """No such run for this tenant (another tenant's run is reported the same way)."""


class RunStatusConflictError(PulseError):
    """The run's status does not allow the operation (cancel an ended run, restart a
    working one); answered with 409."""


class RunControl:
    def __init__(self, store: RunStore, publisher: RunControlPublisher) -> None:
        self._store = store
        self._publisher = publisher

    async def _owned(self, tenant: str, run_id: str) -> RunState:
        state = await self._store.get(run_id) if is_run_id(run_id) else None
        if state is None or state.tenant != tenant:
            raise RunNotFoundError("no such run", run_id=run_id)
        return state

    async def cancel(self, *, tenant: str, run_id: str) -> RunState:
        with run_scope(run_id, tenant=tenant):
            state = await self._owned(tenant, run_id)
            if not may_cancel(state):
                raise RunStatusConflictError(
                    f"the run is already {state.status.value}; only a run that has not "
                    "ended can be canceled",
                    run_id=run_id,
                )
            await self._publisher.publish(cancel_command(state))
            log.info("cancel requested (run was %s)", state.status.value)
            return state

    async def restart(self, *, tenant: str, run_id: str) -> RunState:
        with run_scope(run_id, tenant=tenant):
            state = await self._owned(tenant, run_id)
            if not may_restart(state):
                raise RunStatusConflictError(
                    f"the run is {state.status.value}; only a failed or canceled run that "
                    "was planned can be restarted",
                    run_id=run_id,
                )
            await self._publisher.publish(restart_command(state))
            log.info("restart requested (run was %s)", state.status.value)
            return state
