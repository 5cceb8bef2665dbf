"""How a run moves on: dispatch what is ready, handle a failed attempt, end the run.

Shared by every transition; each function edits a `Draft` and emits the events that
describe what it did.

How a run ends:
- `completed` when every step completed;
- when steps with `on_failure: continue` failed (they and every step depending on them
  end `failed`/`skipped`) and everything else finished: `completed` if at least one sink
  completed — `result` holds the completed sinks' outputs only and `error` names what
  failed — else `failed` with that same error;
- `failed` as soon as a step with `on_failure: fail_run` fails for good, or at the
  deadline (`deadline_exceeded`); `canceled` on request. Then steps in flight become
  `canceled` (their agents are told to stop), steps waiting to retry stay `failed`, and
  steps that never ran become `skipped`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pulse_contracts import (
    BlobRef,
    ErrorCode,
    ErrorInfo,
    PlanStep,
    RunStatus,
    StepStatus,
    UnresolvedReference,
)
from pulse_executor.domain.draft import Draft
from pulse_executor.domain.inputs import PreparedInput, prepare_input
from pulse_executor.domain.references import BlobsNeeded
from pulse_executor.domain.retry import retry_delay_s
from pulse_executor.domain.scheduling import ready_steps, result_refs, run_result, step_outputs
from pulse_executor.domain.state import ExecutorRunState

__all__ = [
    "advance",
    "dispatch",
    "end_run",
    "fail_attempt",
    "next_retry_at",
    "prepared_input",
    "progress",
]

_OPEN = (StepStatus.PENDING, StepStatus.DISPATCHED, StepStatus.RETRYING)


def prepared_input(draft: Draft, step_id: str) -> PreparedInput:
    """The step's input to dispatch; raises `BlobsNeeded` or `UnresolvedReference`."""
    run = draft.state
    assert run.plan is not None
    return prepare_input(
        run.plan.step(step_id).input,
        step_outputs(run.steps, draft.read),
        run_id=run.run_id,
        step_id=step_id,
        limit_bytes=run.large_value_bytes,
    )


def dispatch(draft: Draft, step_id: str, prepared: PreparedInput) -> None:
    """The step's next attempt goes out now."""
    step = draft.state.steps[step_id]
    step.status = StepStatus.DISPATCHED
    step.attempt += 1
    step.input = prepared.input
    step.input_refs = prepared.refs
    draft.uploads.extend(prepared.uploads)
    step.dispatched_at = draft.now
    step.output = None
    step.output_ref = None
    step.error = None
    step.retry_at = None
    step.started_at = step.finished_at = None
    step.agent = None
    draft.emit("step.dispatched", step_id, step.attempt)


def advance(draft: Draft) -> None:
    """Dispatch every ready step; end the run when nothing is left to do.

    Inputs are resolved first: a step whose references do not resolve fails its attempt
    without running, and if that fails the run nothing else is dispatched. Stored outputs
    the inputs need and the coordinator has not read yet are asked for all at once.
    """
    run = draft.state
    if run.status.is_terminal:
        return
    assert run.plan is not None
    prepared: dict[str, PreparedInput] = {}
    needed: dict[str, BlobRef] = {}
    for sid in ready_steps(run.plan, run.steps):
        try:
            prepared[sid] = prepared_input(draft, sid)
        except BlobsNeeded as need:
            needed.update((ref.key, ref) for ref in need.refs)
        except UnresolvedReference as exc:
            step = run.steps[sid]
            step.attempt += 1
            step.input = dict(run.plan.step(sid).input)
            step.input_refs = {}
            step.started_at = step.finished_at = draft.now
            fail_attempt(draft, sid, exc.to_info(), retry=False)
            if run.status.is_terminal:
                return
    if needed:
        raise BlobsNeeded(tuple(needed.values()))
    for sid, step_input in prepared.items():
        dispatch(draft, sid, step_input)
    _settle(draft)


def next_retry_at(
    run: ExecutorRunState, spec: PlanStep, error: ErrorInfo, now: datetime
) -> datetime | None:
    """When the step's next attempt goes out, or None if this failure is final: the error
    is not retryable, the attempts are used up, or the retry would come after the deadline."""
    step = run.steps[spec.id]
    used = run.attempts_since_restart(spec.id)
    if not error.retryable or used >= spec.retry.max_attempts:
        return None
    delay = retry_delay_s(
        spec.retry,
        run_id=run.run_id,
        step_id=spec.id,
        attempt=step.attempt + 1,
        failed_attempts=used,
    )
    at = now + timedelta(seconds=delay)
    if run.deadline_at is not None and at >= run.deadline_at:
        return None
    return at


def fail_attempt(draft: Draft, step_id: str, error: ErrorInfo, *, retry: bool = True) -> None:
    """The step's current attempt failed: schedule a retry, or fail the step for good —
    then fail the run, or (`on_failure: continue`) skip the steps that depend on it."""
    run = draft.state
    assert run.plan is not None
    spec = run.plan.step(step_id)
    step = run.steps[step_id]
    step.error = error
    step.retry_at = next_retry_at(run, spec, error, draft.now) if retry else None
    step.status = StepStatus.RETRYING if step.retry_at is not None else StepStatus.FAILED
    draft.emit("step.failed", step_id, step.attempt)
    if step.status is StepStatus.RETRYING:
        return
    if spec.on_failure == "continue":
        _skip_dependents(run, step_id)
        return
    end_run(draft, RunStatus.FAILED, error)


def _skip_dependents(run: ExecutorRunState, step_id: str) -> None:
    assert run.plan is not None
    lost = {step_id}
    changed = True
    while changed:
        changed = False
        for spec in run.plan.steps:
            step = run.steps[spec.id]
            if step.status is StepStatus.PENDING and lost & set(spec.depends_on):
                step.status = StepStatus.SKIPPED
                lost.add(spec.id)
                changed = True


def end_run(draft: Draft, status: RunStatus, error: ErrorInfo) -> None:
    """The run ends `failed` or `canceled` before its steps are done."""
    run = draft.state
    stop_code = (
        ErrorCode.DEADLINE_EXCEEDED
        if error.code is ErrorCode.DEADLINE_EXCEEDED
        else ErrorCode.CANCELED
    )
    for sid, step in run.steps.items():
        if step.status is StepStatus.PENDING:
            step.status = StepStatus.SKIPPED
        elif step.status is StepStatus.RETRYING:
            step.status = StepStatus.FAILED
        elif step.status is StepStatus.DISPATCHED:
            step.status = StepStatus.CANCELED
            step.finished_at = draft.now
            step.error = ErrorInfo(
                code=stop_code,
                message=f"stopped: the run ended {status.value} ({error.message})",
                run_id=run.run_id,
                step_id=sid,
            )
            draft.emit("step.canceled", sid, step.attempt)
    run.status = status
    run.error = error
    run.result = None
    run.result_refs = {}
    draft.emit_run("run.canceled" if status is RunStatus.CANCELED else "run.failed")


def _settle(draft: Draft) -> None:
    """Once no step is pending, in flight or waiting to retry, the run ends."""
    run = draft.state
    assert run.plan is not None
    if any(step.status in _OPEN for step in run.steps.values()):
        return
    if all(step.status is StepStatus.COMPLETED for step in run.steps.values()):
        run.status = RunStatus.COMPLETED
        run.result = run_result(run.plan, run.steps)
        run.result_refs = result_refs(run.plan.sinks(), run.steps)
        run.error = None
        draft.emit_run("run.completed")
        return
    failed = [sid for sid, s in run.steps.items() if s.status is StepStatus.FAILED]
    skipped = [sid for sid, s in run.steps.items() if s.status is StepStatus.SKIPPED]
    error = ErrorInfo(
        code=ErrorCode.STEP_FAILED,
        message=f"steps failed: {', '.join(failed)}"
        + (f"; skipped: {', '.join(skipped)}" if skipped else ""),
        run_id=run.run_id,
        step_id=failed[0] if failed else None,
    )
    # With several sinks only (one sink would be among the failed or skipped steps).
    done = [sid for sid in run.plan.sinks() if run.steps[sid].status is StepStatus.COMPLETED]
    if not done:
        end_run(draft, RunStatus.FAILED, error)
        return
    run.status = RunStatus.COMPLETED
    run.result = {sid: run.steps[sid].output for sid in done}
    run.result_refs = result_refs(done, run.steps)
    run.error = error
    draft.emit_run("run.completed")


def progress(run: ExecutorRunState) -> str:
    counts: dict[str, int] = {}
    for step in run.steps.values():
        counts[step.status.value] = counts.get(step.status.value, 0) + 1
    return (
        f"run {run.status.value} (" + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) + ")"
    )
