"""Transitions for commands from outside: cancel a run, restart a failed or canceled one."""

from __future__ import annotations

from datetime import datetime, timedelta

from pulse_contracts import CancelRun, ErrorCode, ErrorInfo, RestartRun, RunStatus, StepStatus
from pulse_executor.domain.draft import Draft, Transition, duplicate, ignored
from pulse_executor.domain.progress import advance, end_run, progress
from pulse_executor.domain.references import NOTHING_READ, ReadBlobs
from pulse_executor.domain.state import ExecutorRunState
from pulse_executor.domain.transitions import DEFAULT_RUN, RunDefaults

__all__ = ["RESTARTABLE", "cancel_run", "restart_run"]

RESTARTABLE = frozenset({RunStatus.FAILED, RunStatus.CANCELED})


def cancel_run(state: ExecutorRunState | None, command: CancelRun, *, now: datetime) -> Transition:
    """Dispatch nothing more; steps in flight are canceled (their agents told to stop),
    the others skipped; the run ends `canceled`. A run that already ended stays as it is."""
    if state is None:
        return ignored(state, "cancel of a run unknown here")
    mark = state.caused_by(command.message_id)
    if mark is not None:
        return duplicate(state, mark.seq, "cancel already applied")
    if state.status.is_terminal:
        return ignored(state, f"cancel ignored: the run is already {state.status}")
    draft = Draft(state, now, cause=command.message_id)
    error = ErrorInfo(code=ErrorCode.CANCELED, message=command.reason, run_id=state.run_id)
    end_run(draft, RunStatus.CANCELED, error)
    return draft.finish(f"run canceled: {command.reason}")


def restart_run(
    state: ExecutorRunState | None,
    command: RestartRun,
    *,
    now: datetime,
    defaults: RunDefaults = DEFAULT_RUN,
    read: ReadBlobs = NOTHING_READ,
) -> Transition:
    """Run again every step that did not complete, reusing completed outputs (stored ones
    by reference); attempt numbers continue and the run gets its full deadline again."""
    if state is None or state.plan is None:
        return ignored(state, "restart of a run that has no plan here")
    mark = state.caused_by(command.message_id)
    if mark is not None:
        return duplicate(state, mark.seq, "restart already applied")
    if state.status not in RESTARTABLE:
        return ignored(state, f"restart ignored: the run is {state.status}")
    if command.if_seq is not None and command.if_seq != state.seq:
        return ignored(state, f"restart ignored: the run changed since seq {command.if_seq}")
    draft = Draft(state, now, cause=command.message_id, read=read)
    run = draft.state
    run.restarts += 1
    run.status = RunStatus.WORKING
    run.error = None
    run.result = None
    run.result_refs = {}
    run.deadline_s = run.deadline_s or defaults.deadline_s
    run.deadline_at = now + timedelta(seconds=run.deadline_s)
    run.attempts_before = {}
    for sid, step in run.steps.items():
        if step.status is StepStatus.COMPLETED:
            continue
        run.attempts_before[sid] = step.attempt
        step.status = StepStatus.PENDING
        step.output = None
        step.output_ref = None
        step.error = None
        step.retry_at = None
        step.started_at = step.finished_at = None
    draft.emit_run("run.restarted")
    advance(draft)
    return draft.finish(
        f"run restarted ({run.restarts}) with {len(run.attempts_before)} steps to run again, "
        f"{progress(run)}"
    )
