"""The state changes an applied transition made, as operators see them: one log line each.

A transition that changed the run emitted one run event per change (`run.started`,
`step.dispatched`, `step.failed`, ...), and its effects hold exactly those events: they
are rebuilt from the stored state, so they say what the state now holds. Each becomes a
`StateChange` — what happened in words, the run, step, tool and attempt, how long it
took, and the typed error on failure — which the coordinator logs and counts once, right
after the compare-and-set write that applied it. Redeliveries and ignored messages change
nothing and so report nothing here.

Never in a line: step inputs and outputs, the prompt, the result (they can hold anything
a user typed or a tool returned; the archive keeps them for those allowed to see them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    RunCanceled,
    RunCompleted,
    RunEventBase,
    RunFailed,
    RunRejected,
    RunRestarted,
    RunStarted,
    RunStatus,
    StepCanceled,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
)
from pulse_executor.domain import ExecutorRunState, Transition
from pulse_telemetry import run_scope

__all__ = [
    "StateChange",
    "StepOutcome",
    "log_state_changes",
    "run_life_started_at",
    "state_changes",
]

log = logging.getLogger(__name__)

StepOutcome = Literal["completed", "failed", "retried", "canceled", "timed_out"]
"""How one attempt of a step ended; a timed-out attempt is `timed_out` even when retried."""

LogField = str | int | float | dict[str, str | bool] | None


@dataclass(frozen=True, slots=True)
class StateChange:
    what: str
    """The log message: `run started`, `step retry scheduled`, ..."""
    run_id: str
    tenant: str
    step_id: str | None = None
    tool: str | None = None
    attempt: int | None = None
    run_status: RunStatus | None = None
    """The status the run entered (run events only; a restart re-enters `working`)."""
    step_outcome: StepOutcome | None = None
    """How the attempt ended (step events other than the dispatch)."""
    duration_s: float | None = None
    """Step: its attempt's run time; run: since it started (or was last restarted)."""
    error: ErrorInfo | None = None
    details: tuple[tuple[str, str | int], ...] = ()

    def log_fields(self) -> dict[str, LogField]:
        fields: dict[str, LogField] = {"run_id": self.run_id, "tenant": self.tenant}
        if self.step_id is not None:
            fields |= {"step_id": self.step_id, "tool": self.tool, "attempt": self.attempt}
        if self.run_status is not None:
            fields["run_status"] = self.run_status.value
        if self.step_outcome is not None:
            fields["step_status"] = self.step_outcome
        if self.duration_s is not None:
            fields["duration_ms"] = round(self.duration_s * 1000, 3)
        if self.error is not None:
            fields["error"] = {
                "code": self.error.code.value,
                "message": self.error.message,
                "retryable": self.error.retryable,
            }
        fields.update(self.details)
        return fields


def run_life_started_at(state: ExecutorRunState) -> datetime:
    """When the run's current life began: its creation, or its latest restart."""
    if state.restarts:
        for mark in reversed(state.emitted):
            if mark.kind == "run.restarted" and mark.attempt == state.restarts:
                return mark.at
    return state.created_at


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


_ENDED: dict[type[RunEventBase], RunStatus] = {
    RunCompleted: RunStatus.COMPLETED,
    RunFailed: RunStatus.FAILED,
    RunCanceled: RunStatus.CANCELED,
    RunRejected: RunStatus.REJECTED,
}


def _run_change(event: RunEventBase, state: ExecutorRunState) -> StateChange | None:
    if isinstance(event, RunStarted | RunRestarted):
        details: tuple[tuple[str, str | int], ...] = (
            (("planner", event.planner), ("steps", len(event.plan.steps)))
            if isinstance(event, RunStarted)
            else (("restarts", event.restarts), ("steps", len(event.steps)))
        )
        what = "run started" if isinstance(event, RunStarted) else "run restarted"
        return StateChange(
            what, event.run_id, event.tenant, run_status=RunStatus.WORKING, details=details
        )
    status = _ENDED.get(type(event))
    if status is None:
        return None
    assert isinstance(event, RunCompleted | RunFailed | RunCanceled | RunRejected)
    return StateChange(
        f"run {status.value}",
        event.run_id,
        event.tenant,
        run_status=status,
        duration_s=_seconds(run_life_started_at(state), event.occurred_at),
        error=event.error,
    )


def _step_change(event: RunEventBase, state: ExecutorRunState) -> StateChange | None:
    if not isinstance(event, StepDispatched | StepCompleted | StepFailedEvent | StepCanceled):
        return None
    what = "step dispatched"
    outcome: StepOutcome | None = None
    duration: float | None = None
    error: ErrorInfo | None = None
    details: tuple[tuple[str, str | int], ...] = ()
    if isinstance(event, StepCompleted):
        what, outcome = "step completed", "completed"
        duration = _seconds(event.started_at, event.finished_at)
    elif isinstance(event, StepCanceled):
        what, outcome, error = "step canceled", "canceled", event.error
        step = state.steps.get(event.step_id)
        duration = _seconds(step.dispatched_at if step else None, event.finished_at)
    elif isinstance(event, StepFailedEvent):
        error = event.error
        duration = _seconds(event.started_at, event.finished_at)
        if event.error.code is ErrorCode.TIMED_OUT:
            what, outcome = "step timed out", "timed_out"
        elif event.retry_at is not None:
            what, outcome = "step retry scheduled", "retried"
        else:
            what, outcome = "step failed", "failed"
        if event.retry_at is not None:
            details = (("retry_at", event.retry_at.isoformat()),)
    if isinstance(event, StepCompleted | StepFailedEvent) and event.agent:
        details += (("agent", event.agent),)  # who did the work, as the agent reported it
    return StateChange(
        what,
        event.run_id,
        event.tenant,
        event.step_id,
        event.tool,
        event.attempt,
        step_outcome=outcome,
        duration_s=duration,
        error=error,
        details=details,
    )


def state_changes(transition: Transition) -> list[StateChange]:
    """One `StateChange` per event `transition` emitted; none unless it changed the run."""
    state = transition.state
    if not transition.changed or state is None:
        return []
    changes: list[StateChange] = []
    for effect in transition.effects:
        if isinstance(effect, RunEventBase):
            change = _step_change(effect, state) or _run_change(effect, state)
            if change is not None:
                changes.append(change)
    return changes


def log_state_changes(changes: list[StateChange]) -> None:
    """One INFO line per change, naming its own run and step (a result for one step can
    dispatch others, or end the run)."""
    if not log.isEnabledFor(logging.INFO):
        return
    for change in changes:
        with run_scope(change.run_id, change.step_id, change.tenant):
            log.info(change.what, extra=change.log_fields())
