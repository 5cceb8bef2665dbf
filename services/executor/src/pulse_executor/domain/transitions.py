"""The run lifecycle as pure functions: `(state, message, now) -> Transition`.

A transition never mutates its input. It returns the next state (or the same one), the
effects to publish once that state is stored, and whether anything changed. A message that
was already applied — a redelivery — changes nothing and returns the effects the current
state implies, so that a crash between storing and publishing heals on redelivery.

This module has the plan and result messages; `timing` the timers, `control` cancel and
restart. `progress` holds what they share: dispatching, failing an attempt, ending a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    PlanCreated,
    PlanRejected,
    RunStatus,
    StepState,
    StepStatus,
    TaskFinished,
)
from pulse_executor.domain.draft import Draft, Transition, duplicate, ignored
from pulse_executor.domain.effects import TERMINAL_KINDS
from pulse_executor.domain.progress import advance, fail_attempt, progress
from pulse_executor.domain.references import NOTHING_READ, ReadBlobs
from pulse_executor.domain.state import ExecutorRunState, attempt_key

__all__ = ["DEFAULT_RUN", "RunDefaults", "record_result", "reject_run", "start_run"]


@dataclass(frozen=True)
class RunDefaults:
    """What the executor decides for a run when its messages do not say."""

    deadline_s: float = 3600.0
    """The run's deadline when `PlanCreated.deadline_s` is unset."""
    timeout_grace_s: float = 5.0
    """Added to a step's `timeout_s` before its timeout timer fires."""
    large_value_bytes: int = 256 * 1024
    """Above this, a dispatched input's largest fields go to the object store."""
    state_budget_bytes: int = 512 * 1024
    """Above this, the run document's largest inline values go to the object store."""


DEFAULT_RUN = RunDefaults()


def start_run(
    state: ExecutorRunState | None,
    plan_created: PlanCreated,
    *,
    now: datetime,
    trace_id: str | None = None,
    trace_context: dict[str, str] | None = None,
    defaults: RunDefaults = DEFAULT_RUN,
) -> Transition:
    """The plan arrived: every step pending, then every ready step dispatched at once."""
    if state is not None and state.status is not RunStatus.SUBMITTED:
        since = state.emitted_seq(("run.started", *TERMINAL_KINDS))
        return duplicate(state, since, f"plan already applied (run is {state.status})")
    draft = Draft(state or _new_state(plan_created, now), now)
    run = draft.state
    run.status = RunStatus.WORKING
    run.prompt = plan_created.prompt
    run.plan = plan_created.plan
    run.planner = plan_created.planner
    run.trace_id = trace_id or plan_created.trace_id or run.trace_id
    run.trace_context = dict(trace_context or run.trace_context)
    run.steps = {s.id: StepState(step_id=s.id, tool=s.tool) for s in plan_created.plan.steps}
    run.deadline_s = plan_created.deadline_s or defaults.deadline_s
    run.deadline_at = now + timedelta(seconds=run.deadline_s)
    run.timeout_grace_s = defaults.timeout_grace_s
    run.large_value_bytes = defaults.large_value_bytes
    run.state_budget_bytes = defaults.state_budget_bytes
    draft.emit_run("run.started")
    advance(draft)
    return draft.finish(f"run started with {len(run.steps)} steps, {progress(run)}")


def reject_run(
    state: ExecutorRunState | None, rejected: PlanRejected, *, now: datetime
) -> Transition:
    """The goal could not be planned: the run ends `rejected` with the planner's error."""
    if state is not None and state.status is RunStatus.REJECTED:
        return duplicate(state, state.emitted_seq(("run.rejected",)), "rejection already applied")
    if state is not None and state.status is not RunStatus.SUBMITTED:
        return ignored(state, f"plan rejection ignored: the run is already {state.status}")
    draft = Draft(state or _new_state(rejected, now), now)
    draft.state.status = RunStatus.REJECTED
    draft.state.prompt = rejected.prompt
    draft.state.trace_id = draft.state.trace_id or rejected.trace_id
    draft.state.error = rejected.error
    draft.emit_run("run.rejected")
    return draft.finish(f"run rejected: {rejected.error.message}")


def record_result(
    state: ExecutorRunState | None,
    result: TaskFinished,
    *,
    now: datetime,
    read: ReadBlobs = NOTHING_READ,
) -> Transition:
    """An attempt at a step finished: record it, then retry, dispatch, complete or fail.

    `read` holds stored outputs the steps it makes ready need (see `references`)."""
    if state is None or state.plan is None:
        return ignored(state, "result for a run that has no plan here")
    step = state.steps.get(result.step_id)
    if step is None:
        return ignored(state, f"result for unknown step {result.step_id!r}")
    if result.attempt < step.attempt:
        return ignored(state, f"stale result of attempt {result.attempt} (now {step.attempt})")
    if attempt_key(step.step_id, result.attempt) in state.timed_out:
        return ignored(state, f"late result of attempt {result.attempt}, which timed out")
    recorded = (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.RETRYING)
    if result.attempt == step.attempt and step.status in recorded:
        since = state.emitted_seq(("step.completed", "step.failed"), step.step_id, step.attempt)
        return duplicate(state, since, f"result of attempt {result.attempt} already recorded")
    if state.status.is_terminal:
        return ignored(state, f"result ignored: the run is already {state.status}")
    if step.status is not StepStatus.DISPATCHED or result.attempt != step.attempt:
        return ignored(state, f"result of attempt {result.attempt} is not in flight")

    draft = Draft(state, now, read=read)
    run = draft.state
    target = run.steps[result.step_id]
    target.started_at = result.started_at
    target.finished_at = result.finished_at
    target.usage = result.usage
    target.agent = result.agent
    run.usage = run.usage + result.usage
    if result.outcome == "succeeded":
        target.status = StepStatus.COMPLETED
        # A stored output is kept by reference only: the run state stays small.
        target.output = None if result.output_ref is not None else result.output
        target.output_ref = result.output_ref
        target.error = None
        draft.emit("step.completed", target.step_id, target.attempt)
        advance(draft)
        return draft.finish(f"step {target.step_id} completed, {progress(run)}")
    error = _step_error(result)
    fail_attempt(draft, target.step_id, error)
    advance(draft)
    return draft.finish(f"step {target.step_id} attempt {target.attempt} failed, {progress(run)}")


def _new_state(message: PlanCreated | PlanRejected, now: datetime) -> ExecutorRunState:
    """A run published straight onto NATS by another system: no gateway wrote its key."""
    return ExecutorRunState(
        run_id=message.run_id,
        tenant=message.tenant,
        prompt=message.prompt,
        trace_id=message.trace_id,
        created_at=now,
        updated_at=now,
    )


def _step_error(result: TaskFinished) -> ErrorInfo:
    """The agent's error, always naming the run and step it belongs to."""
    if result.error is None:
        return ErrorInfo(
            code=ErrorCode.STEP_FAILED,
            message=f"step {result.step_id!r} failed without an error report",
            run_id=result.run_id,
            step_id=result.step_id,
        )
    return result.error.model_copy(
        update={
            "run_id": result.error.run_id or result.run_id,
            "step_id": result.error.step_id or result.step_id,
        }
    )
