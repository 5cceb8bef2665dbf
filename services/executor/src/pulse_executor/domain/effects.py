"""What a transition asks the outside world to do, rebuilt from the run state alone.

Effects are `DispatchTask` commands and run events. Both are built from the state *after*
the transition, by the same functions whether they are new or re-published after a crash,
so a re-publication is byte-for-byte the message that was (or should have been) sent, with
the same deterministic id, and JetStream's duplicate window drops it if it was.
"""

from __future__ import annotations

from typing import TypeAlias

from pulse_contracts import (
    DispatchTask,
    ErrorCode,
    ErrorInfo,
    RunCompleted,
    RunEventBase,
    RunFailed,
    RunRejected,
    RunStarted,
    RunStatus,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    StepStatus,
    event_message_id,
    task_message_id,
)
from pulse_executor.domain.state import EmittedEvent, EventKind, ExecutorRunState

__all__ = [
    "TERMINAL_KINDS",
    "Effect",
    "build_event",
    "dispatch_command",
    "implied_effects",
]

Effect: TypeAlias = DispatchTask | RunEventBase

TERMINAL_KINDS: tuple[EventKind, ...] = ("run.completed", "run.failed", "run.rejected")
_TERMINAL_KIND_OF: dict[RunStatus, EventKind] = {
    RunStatus.COMPLETED: "run.completed",
    RunStatus.FAILED: "run.failed",
    RunStatus.REJECTED: "run.rejected",
}


def dispatch_command(state: ExecutorRunState, step_id: str) -> DispatchTask:
    """The command that runs the step's current attempt with its resolved input."""
    assert state.plan is not None, "a dispatched step belongs to a planned run"
    step = state.steps[step_id]
    spec = state.plan.step(step_id)
    return DispatchTask(
        message_id=task_message_id(state.run_id, step_id, step.attempt, "dispatch"),
        occurred_at=step.dispatched_at or state.updated_at,
        run_id=state.run_id,
        tenant=state.tenant,
        trace_id=state.trace_id,
        step_id=step_id,
        attempt=step.attempt,
        tool=spec.tool,
        agent=spec.agent,
        input=step.input,
        timeout_s=spec.timeout_s,
    )


def _unknown_error(state: ExecutorRunState) -> ErrorInfo:
    return ErrorInfo(code=ErrorCode.INTERNAL, message="no error recorded", run_id=state.run_id)


def build_event(state: ExecutorRunState, mark: EmittedEvent) -> RunEventBase | None:
    """The event `mark` stands for, from the state; `None` if the state no longer holds it
    (a later attempt of the step replaced the attempt the event was about)."""
    common = {
        "message_id": event_message_id(state.run_id, mark.kind, mark.step_id or "-", mark.attempt),
        "occurred_at": mark.at,
        "run_id": state.run_id,
        "tenant": state.tenant,
        "trace_id": state.trace_id,
        "seq": mark.seq,
    }
    if mark.kind == "run.started":
        if state.plan is None:
            return None
        return RunStarted(
            **common, prompt=state.prompt, plan=state.plan, planner=state.planner or "unknown"
        )
    if mark.kind == "run.rejected":
        return RunRejected(
            **common, prompt=state.prompt, error=state.error or _unknown_error(state)
        )
    if mark.kind == "run.completed":
        return RunCompleted(**common, result=state.result, usage=state.usage)
    if mark.kind == "run.failed":
        return RunFailed(**common, error=state.error or _unknown_error(state), usage=state.usage)
    step = state.steps.get(mark.step_id or "")
    if step is None:
        return None
    if mark.kind == "step.dispatched":
        if mark.attempt > step.attempt:
            return None
        step_fields = {"step_id": step.step_id, "attempt": mark.attempt, "tool": step.tool}
        return StepDispatched(**common, **step_fields, input=step.input)
    if step.attempt != mark.attempt or step.started_at is None or step.finished_at is None:
        return None
    finish_fields = {
        "step_id": step.step_id,
        "attempt": step.attempt,
        "tool": step.tool,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }
    if mark.kind == "step.completed" and step.status is StepStatus.COMPLETED:
        return StepCompleted(**common, **finish_fields, output=step.output, usage=step.usage)
    if mark.kind == "step.failed" and step.status is StepStatus.FAILED:
        error = step.error or _unknown_error(state)
        return StepFailedEvent(**common, **finish_fields, error=error)
    return None


def implied_effects(state: ExecutorRunState, since_seq: int | None) -> tuple[Effect, ...]:
    """What the current state says must have been published, for a redelivered message
    whose transition emitted its first event at `since_seq`.

    - every event from `since_seq` on: the ones that transition emitted, and later ones
      (events are idempotent by id downstream, so re-sending more is harmless);
    - the terminal event if the run is over;
    - unless the run is over, a `DispatchTask` for every step still dispatched whose
      dispatch is at or after `since_seq`. Commands have real effects, so only those the
      redelivered message could have left unsent are resent: they are recent, inside the
      duplicate window that drops them if they did go out. An older dispatch was sent by
      an earlier message, acknowledged only after it was sent. Without an event log
      (`since_seq` unknown), every dispatched step is resent.
    """
    effects: list[Effect] = []
    seen: set[str] = set()
    marks = [m for m in state.emitted if since_seq is not None and m.seq >= since_seq]
    if state.status.is_terminal:
        terminal = [m for m in state.emitted if m.kind in TERMINAL_KINDS]
        if terminal:
            marks.extend(terminal)
        else:
            marks.extend(_fallback_terminal_mark(state))
    for mark in marks:
        event = build_event(state, mark)
        if event is not None and event.message_id not in seen:
            seen.add(event.message_id)
            effects.append(event)
    if not state.status.is_terminal:
        effects.extend(
            dispatch_command(state, sid)
            for sid, step in state.steps.items()
            if step.status is StepStatus.DISPATCHED and _dispatched_since(state, sid, since_seq)
        )
    return tuple(effects)


def _dispatched_since(state: ExecutorRunState, step_id: str, since_seq: int | None) -> bool:
    if since_seq is None:
        return True
    seq = state.emitted_seq(("step.dispatched",), step_id, state.steps[step_id].attempt)
    return seq is None or seq >= since_seq


def _fallback_terminal_mark(state: ExecutorRunState) -> list[EmittedEvent]:
    """A document without its event log (written by an older executor or another writer):
    the terminal event was the run's last, so its seq is the run's seq."""
    kind = _TERMINAL_KIND_OF.get(state.status)
    if kind is None or state.seq < 1:
        return []
    return [EmittedEvent(seq=state.seq, kind=kind, at=state.updated_at)]
