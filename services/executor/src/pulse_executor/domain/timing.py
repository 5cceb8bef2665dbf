"""Transitions for the executor's own timers: a step's timeout, a retry, the run's deadline.

A timer is published when the state that needs it is stored, and comes back through
JetStream when due. By then the run may have moved on: a timer for an attempt that is no
longer in flight, or a deadline of an earlier life of a restarted run, is ignored. A timer
that was applied already (a redelivery) re-publishes what it caused.
"""

from __future__ import annotations

from datetime import datetime

from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    RetryDue,
    RunDeadlineDue,
    RunStatus,
    StepStatus,
    StepTimeoutDue,
    UnresolvedReference,
)
from pulse_executor.domain.draft import Draft, Transition, duplicate, ignored
from pulse_executor.domain.effects import timed_out_error
from pulse_executor.domain.progress import (
    advance,
    dispatch,
    end_run,
    fail_attempt,
    prepared_input,
    progress,
)
from pulse_executor.domain.references import NOTHING_READ, ReadBlobs
from pulse_executor.domain.state import ExecutorRunState, attempt_key

__all__ = ["expire_run", "retry_step", "time_out_step"]


def _applied(state: ExecutorRunState, message_id: str, what: str) -> Transition | None:
    mark = state.caused_by(message_id)
    return None if mark is None else duplicate(state, mark.seq, f"{what} already applied")


def time_out_step(
    state: ExecutorRunState | None,
    timer: StepTimeoutDue,
    *,
    now: datetime,
    read: ReadBlobs = NOTHING_READ,
) -> Transition:
    """The attempt's time is up: if it is still in flight, it fails with `timed_out`."""
    if state is None or state.plan is None or timer.step_id not in state.steps:
        return ignored(state, "timeout of a step this run does not have")
    applied = _applied(state, timer.message_id, f"timeout of attempt {timer.attempt}")
    if applied is not None:
        return applied
    step = state.steps[timer.step_id]
    if state.status.is_terminal:
        return ignored(state, f"timeout ignored: the run is already {state.status}")
    if step.status is not StepStatus.DISPATCHED or step.attempt != timer.attempt:
        return ignored(state, f"timeout ignored: attempt {timer.attempt} is no longer in flight")
    draft = Draft(state, now, cause=timer.message_id, read=read)
    run = draft.state
    target = run.steps[timer.step_id]
    target.started_at = target.dispatched_at or now
    target.finished_at = now
    run.timed_out.append(attempt_key(target.step_id, target.attempt))
    error = timed_out_error(run, target.step_id, target.attempt)
    fail_attempt(draft, target.step_id, error)
    advance(draft)
    return draft.finish(
        f"step {target.step_id} attempt {target.attempt} timed out, {progress(run)}"
    )


def retry_step(
    state: ExecutorRunState | None,
    timer: RetryDue,
    *,
    now: datetime,
    read: ReadBlobs = NOTHING_READ,
) -> Transition:
    """The back-off is over: dispatch the step's next attempt."""
    if state is None or state.plan is None or timer.step_id not in state.steps:
        return ignored(state, "retry of a step this run does not have")
    applied = _applied(state, timer.message_id, f"retry as attempt {timer.attempt}")
    if applied is not None:
        return applied
    step = state.steps[timer.step_id]
    if state.status.is_terminal:
        return ignored(state, f"retry ignored: the run is already {state.status}")
    if step.status is not StepStatus.RETRYING or step.attempt + 1 != timer.attempt:
        return ignored(state, f"retry as attempt {timer.attempt} is no longer due")
    draft = Draft(state, now, cause=timer.message_id, read=read)
    try:
        prepared = prepared_input(draft, step.step_id)
    except UnresolvedReference as exc:  # its inputs resolved before, unless a blob expired
        fail_attempt(draft, step.step_id, exc.to_info(), retry=False)
        advance(draft)
        return draft.finish(f"retry of {step.step_id} failed: {exc.message}")
    dispatch(draft, step.step_id, prepared)
    return draft.finish(f"step {step.step_id} retried as attempt {timer.attempt}")


def expire_run(
    state: ExecutorRunState | None, timer: RunDeadlineDue, *, now: datetime
) -> Transition:
    """The run's deadline passed: a run still working ends `failed` (`deadline_exceeded`)."""
    if state is None:
        return ignored(state, "deadline of a run unknown here")
    applied = _applied(state, timer.message_id, "deadline")
    if applied is not None:
        return applied
    if state.restarts != timer.generation or state.deadline_at != timer.due_at:
        return ignored(state, "deadline of an earlier life of the run ignored")
    if state.status.is_terminal:
        return ignored(state, f"deadline ignored: the run is already {state.status}")
    draft = Draft(state, now, cause=timer.message_id)
    error = ErrorInfo(
        code=ErrorCode.DEADLINE_EXCEEDED,
        message=f"the run did not finish within its deadline of {state.deadline_s or 0:g}s",
        run_id=state.run_id,
    )
    end_run(draft, RunStatus.FAILED, error)
    return draft.finish(f"run failed: {error.message}")
