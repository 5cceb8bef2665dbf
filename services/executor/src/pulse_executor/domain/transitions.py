"""The run lifecycle as pure functions: `(state, message, now) -> Transition`.

A transition never mutates its input. It returns the next state (or the same one), the
effects to publish once that state is stored, and whether anything changed. A message that
was already applied — a redelivery — changes nothing and returns the effects the current
state implies, so that a crash between storing and publishing heals on redelivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    JsonValue,
    PlanCreated,
    PlanRejected,
    RunStatus,
    StepState,
    StepStatus,
    TaskFinished,
    UnresolvedReference,
)
from pulse_executor.domain.effects import (
    TERMINAL_KINDS,
    Effect,
    build_event,
    dispatch_command,
    implied_effects,
)
from pulse_executor.domain.references import resolve_input
from pulse_executor.domain.scheduling import completed_outputs, ready_steps, run_result
from pulse_executor.domain.state import EmittedEvent, EventKind, ExecutorRunState

__all__ = ["Outcome", "Transition", "record_result", "reject_run", "start_run"]

Outcome = Literal["changed", "duplicate", "ignored"]


@dataclass(frozen=True)
class Transition:
    state: ExecutorRunState | None
    """The state to store when `outcome` is `changed`; otherwise the state as it was."""
    effects: tuple[Effect, ...] = ()
    outcome: Outcome = "ignored"
    note: str = ""
    """What happened, in words, for the one log line per state change."""

    @property
    def changed(self) -> bool:
        return self.outcome == "changed"


class _Draft:
    """A deep copy of the state that one transition edits, and the events it emits."""

    def __init__(self, state: ExecutorRunState, now: datetime) -> None:
        self.state = state.model_copy(deep=True)
        self.now = now
        self._marks: list[EmittedEvent] = []
        self._dispatch: list[str] = []

    def emit(self, kind: EventKind, step_id: str | None = None, attempt: int = 0) -> None:
        mark = EmittedEvent(
            seq=self.state.seq + 1, kind=kind, step_id=step_id, attempt=attempt, at=self.now
        )
        self.state.seq = mark.seq
        self.state.emitted.append(mark)
        self._marks.append(mark)

    def dispatch(self, step_id: str) -> None:
        self._dispatch.append(step_id)

    def finish(self, note: str) -> Transition:
        """Built from the final state, exactly as `implied_effects` would rebuild them."""
        self.state.updated_at = self.now
        effects: list[Effect] = []
        for mark in self._marks:
            event = build_event(self.state, mark)
            assert event is not None, f"{mark.kind} must be buildable from its own transition"
            effects.append(event)
        effects.extend(dispatch_command(self.state, sid) for sid in self._dispatch)
        return Transition(self.state, tuple(effects), "changed", note)


def _ignored(state: ExecutorRunState | None, note: str) -> Transition:
    return Transition(state, (), "ignored", note)


def _duplicate(state: ExecutorRunState, since_seq: int | None, note: str) -> Transition:
    return Transition(state, implied_effects(state, since_seq), "duplicate", note)


def start_run(
    state: ExecutorRunState | None,
    plan_created: PlanCreated,
    *,
    now: datetime,
    trace_id: str | None = None,
    trace_context: dict[str, str] | None = None,
) -> Transition:
    """The plan arrived: every step pending, then every ready step dispatched at once."""
    if state is not None and state.status is not RunStatus.SUBMITTED:
        since = state.emitted_seq(("run.started", *TERMINAL_KINDS))
        return _duplicate(state, since, f"plan already applied (run is {state.status})")
    draft = _Draft(state or _new_state(plan_created, now), now)
    run = draft.state
    run.status = RunStatus.WORKING
    run.prompt = plan_created.prompt
    run.plan = plan_created.plan
    run.planner = plan_created.planner
    run.trace_id = trace_id or plan_created.trace_id or run.trace_id
    run.trace_context = dict(trace_context or run.trace_context)
    run.steps = {s.id: StepState(step_id=s.id, tool=s.tool) for s in plan_created.plan.steps}
    draft.emit("run.started")
    _advance(draft)
    return draft.finish(f"run started with {len(run.steps)} steps, {_progress(run)}")


def reject_run(
    state: ExecutorRunState | None, rejected: PlanRejected, *, now: datetime
) -> Transition:
    """The goal could not be planned: the run ends `rejected` with the planner's error."""
    if state is not None and state.status is RunStatus.REJECTED:
        return _duplicate(state, state.emitted_seq(("run.rejected",)), "rejection already applied")
    if state is not None and state.status is not RunStatus.SUBMITTED:
        return _ignored(state, f"plan rejection ignored: the run is already {state.status}")
    draft = _Draft(state or _new_state(rejected, now), now)
    draft.state.status = RunStatus.REJECTED
    draft.state.prompt = rejected.prompt
    draft.state.trace_id = draft.state.trace_id or rejected.trace_id
    draft.state.error = rejected.error
    draft.emit("run.rejected")
    return draft.finish(f"run rejected: {rejected.error.message}")


def record_result(
    state: ExecutorRunState | None, result: TaskFinished, *, now: datetime
) -> Transition:
    """An attempt at a step finished: record it, then dispatch, complete or fail the run."""
    if state is None or state.plan is None:
        return _ignored(state, "result for a run that has no plan here")
    step = state.steps.get(result.step_id)
    if step is None:
        return _ignored(state, f"result for unknown step {result.step_id!r}")
    if result.attempt < step.attempt:
        return _ignored(state, f"stale result of attempt {result.attempt} (now {step.attempt})")
    recorded = step.status in (StepStatus.COMPLETED, StepStatus.FAILED)
    if result.attempt == step.attempt and recorded:
        since = state.emitted_seq(("step.completed", "step.failed"), step.step_id, step.attempt)
        return _duplicate(state, since, f"result of attempt {result.attempt} already recorded")
    if state.status.is_terminal:
        return _ignored(state, f"result ignored: the run is already {state.status}")
    if step.status is not StepStatus.DISPATCHED or result.attempt != step.attempt:
        return _ignored(state, f"result of attempt {result.attempt} was never dispatched")

    draft = _Draft(state, now)
    run = draft.state
    target = run.steps[result.step_id]
    target.started_at = result.started_at
    target.finished_at = result.finished_at
    target.usage = result.usage
    run.usage = run.usage + result.usage
    if result.outcome == "succeeded":
        target.status = StepStatus.COMPLETED
        target.output = result.output
        target.error = None
        draft.emit("step.completed", target.step_id, target.attempt)
        _advance(draft)
        return draft.finish(f"step {target.step_id} completed, {_progress(run)}")
    error = _step_error(result)
    target.status = StepStatus.FAILED
    target.error = error
    draft.emit("step.failed", target.step_id, target.attempt)
    _fail_run(draft, error)
    return draft.finish(f"step {target.step_id} failed, run failed: {error.message}")


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


def _advance(draft: _Draft) -> None:
    """Dispatch every ready step; complete the run when nothing is left to do."""
    run = draft.state
    assert run.plan is not None
    ready = ready_steps(run.plan, run.steps)
    outputs = completed_outputs(run.steps)
    resolved: dict[str, dict[str, JsonValue]] = {}
    for sid in ready:
        try:
            resolved[sid] = resolve_input(
                run.plan.step(sid).input, outputs, run_id=run.run_id, step_id=sid
            )
        except UnresolvedReference as exc:
            _fail_before_dispatch(draft, sid, exc.to_info())
            return
    for sid in ready:
        step = run.steps[sid]
        step.status = StepStatus.DISPATCHED
        step.attempt += 1
        step.input = resolved[sid]
        step.dispatched_at = draft.now
        draft.emit("step.dispatched", sid, step.attempt)
        draft.dispatch(sid)
    if all(s.status is StepStatus.COMPLETED for s in run.steps.values()):
        run.status = RunStatus.COMPLETED
        run.result = run_result(run.plan, run.steps)
        draft.emit("run.completed")


def _fail_before_dispatch(draft: _Draft, step_id: str, error: ErrorInfo) -> None:
    """A step whose input cannot be resolved fails its first attempt without running."""
    run = draft.state
    assert run.plan is not None
    step = run.steps[step_id]
    step.status = StepStatus.FAILED
    step.attempt += 1
    step.input = dict(run.plan.step(step_id).input)
    step.error = error
    step.started_at = step.finished_at = draft.now
    draft.emit("step.failed", step_id, step.attempt)
    _fail_run(draft, error)


def _fail_run(draft: _Draft, error: ErrorInfo) -> None:
    """No retries yet: one failed step fails the run; steps that never ran are skipped."""
    run = draft.state
    for step in run.steps.values():
        if step.status is StepStatus.PENDING:
            step.status = StepStatus.SKIPPED
    run.status = RunStatus.FAILED
    run.error = error
    run.result = None
    draft.emit("run.failed")


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


def _progress(run: ExecutorRunState) -> str:
    counts: dict[str, int] = {}
    for step in run.steps.values():
        counts[step.status.value] = counts.get(step.status.value, 0) + 1
    return (
        f"run {run.status.value} (" + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) + ")"
    )
