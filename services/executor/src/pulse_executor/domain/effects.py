"""What a transition asks the outside world to do, rebuilt from the run state alone.

Every effect hangs off an event the transition emitted (an `EmittedEvent` mark): the event
itself, and the commands it implies — a `step.dispatched` mark sends the `DispatchTask`
and schedules the attempt's timeout; a retryable `step.failed` schedules the retry; a
`run.started`/`run.restarted` schedules the deadline; a `step.canceled`, or a `step.failed`
by timeout, tells the agents to stop that attempt. Effects are built from the state *after*
the transition by the same functions whether they are new or re-published after a crash,
so a re-publication is the message that was (or should have been) sent, with the same
deterministic id, and JetStream's duplicate window drops it if it was.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeAlias

from pulse_contracts import (
    CancelTask,
    DispatchTask,
    ErrorCode,
    ErrorInfo,
    RetryDue,
    RunCanceled,
    RunCompleted,
    RunDeadlineDue,
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
    StepStatus,
    StepTimeoutDue,
    TimerBase,
    event_message_id,
    task_message_id,
    timer_message_id,
)
from pulse_executor.domain.state import EmittedEvent, EventKind, ExecutorRunState, attempt_key

__all__ = [
    "TERMINAL_KINDS",
    "Effect",
    "build_event",
    "commands_for",
    "dispatch_command",
    "implied_effects",
    "timed_out_error",
]

Effect: TypeAlias = DispatchTask | RunEventBase | TimerBase | CancelTask

TERMINAL_KINDS: tuple[EventKind, ...] = (
    "run.completed",
    "run.failed",
    "run.rejected",
    "run.canceled",
)
_TERMINAL_KIND_OF: dict[RunStatus, EventKind] = {
    RunStatus.COMPLETED: "run.completed",
    RunStatus.FAILED: "run.failed",
    RunStatus.REJECTED: "run.rejected",
    RunStatus.CANCELED: "run.canceled",
}
_GENERATIONAL: tuple[EventKind, ...] = (*TERMINAL_KINDS, "run.restarted")


def timed_out_error(state: ExecutorRunState, step_id: str, attempt: int) -> ErrorInfo:
    timeout_s = state.plan.step(step_id).timeout_s if state.plan else 0.0
    return ErrorInfo(
        code=ErrorCode.TIMED_OUT,
        message=f"attempt {attempt} did not finish within {timeout_s:g}s",
        run_id=state.run_id,
        step_id=step_id,
        retryable=True,
    )


def _scoped(state: ExecutorRunState) -> dict[str, Any]:
    return {"run_id": state.run_id, "tenant": state.tenant, "trace_id": state.trace_id}


def dispatch_command(state: ExecutorRunState, step_id: str) -> DispatchTask:
    """The command that runs the step's current attempt with its resolved input."""
    assert state.plan is not None, "a dispatched step belongs to a planned run"
    step = state.steps[step_id]
    spec = state.plan.step(step_id)
    return DispatchTask(
        **_scoped(state),
        message_id=task_message_id(state.run_id, step_id, step.attempt, "dispatch"),
        occurred_at=step.dispatched_at or state.updated_at,
        step_id=step_id,
        attempt=step.attempt,
        tool=spec.tool,
        agent=spec.agent,
        input=step.input,
        input_refs=step.input_refs,
        timeout_s=spec.timeout_s,
    )


def _timeout_timer(state: ExecutorRunState, step_id: str, mark: EmittedEvent) -> StepTimeoutDue:
    assert state.plan is not None
    step = state.steps[step_id]
    timeout_s = state.plan.step(step_id).timeout_s
    dispatched_at = step.dispatched_at or mark.at
    return StepTimeoutDue(
        **_scoped(state),
        message_id=timer_message_id(state.run_id, step_id, step.attempt, StepTimeoutDue.kind),
        occurred_at=mark.at,
        due_at=dispatched_at + timedelta(seconds=timeout_s + state.timeout_grace_s),
        step_id=step_id,
        attempt=step.attempt,
        timeout_s=timeout_s,
    )


def _retry_timer(state: ExecutorRunState, step_id: str, mark: EmittedEvent) -> RetryDue | None:
    step = state.steps[step_id]
    if step.retry_at is None:
        return None
    return RetryDue(
        **_scoped(state),
        message_id=timer_message_id(state.run_id, step_id, step.attempt + 1, RetryDue.kind),
        occurred_at=mark.at,
        due_at=step.retry_at,
        step_id=step_id,
        attempt=step.attempt + 1,
    )


def _deadline_timer(state: ExecutorRunState, mark: EmittedEvent) -> RunDeadlineDue | None:
    if state.deadline_at is None:
        return None
    return RunDeadlineDue(
        **_scoped(state),
        message_id=timer_message_id(state.run_id, "-", state.restarts, RunDeadlineDue.kind),
        occurred_at=mark.at,
        due_at=state.deadline_at,
        generation=state.restarts,
    )


def _cancel(
    state: ExecutorRunState, step_id: str, attempt: int, reason: ErrorInfo, mark: EmittedEvent
) -> CancelTask:
    return CancelTask(
        **_scoped(state),
        message_id=task_message_id(state.run_id, step_id, attempt, "cancel"),
        occurred_at=mark.at,
        step_id=step_id,
        attempt=attempt,
        reason=reason,
    )


def _unknown_error(state: ExecutorRunState) -> ErrorInfo:
    return ErrorInfo(code=ErrorCode.INTERNAL, message="no error recorded", run_id=state.run_id)


def _run_event(
    state: ExecutorRunState, mark: EmittedEvent, common: dict[str, Any]
) -> RunEventBase | None:
    if mark.kind in _GENERATIONAL and mark.attempt != state.restarts:
        return None  # an earlier life of a restarted run: the state no longer holds it
    if mark.kind in TERMINAL_KINDS and _TERMINAL_KIND_OF.get(state.status) != mark.kind:
        return None
    error = state.error or _unknown_error(state)
    match mark.kind:
        case "run.started":
            if state.plan is None:
                return None
            planner = state.planner or "unknown"
            return RunStarted(**common, prompt=state.prompt, plan=state.plan, planner=planner)
        case "run.rejected":
            return RunRejected(**common, prompt=state.prompt, error=error)
        case "run.completed":
            return RunCompleted(
                **common,
                result=state.result,
                result_refs=state.result_refs,
                usage=state.usage,
                error=state.error,
            )
        case "run.failed":
            return RunFailed(**common, error=error, usage=state.usage)
        case "run.canceled":
            return RunCanceled(**common, error=error, usage=state.usage)
        case "run.restarted":
            steps = [sid for sid in state.steps if sid in state.attempts_before]
            return RunRestarted(**common, restarts=state.restarts, steps=steps, usage=state.usage)
    return None


def build_event(state: ExecutorRunState, mark: EmittedEvent) -> RunEventBase | None:
    """The event `mark` stands for, from the state; `None` if the state no longer holds it
    (a later attempt of the step, or a restart, replaced what the event was about)."""
    common: dict[str, Any] = {
        **_scoped(state),
        "message_id": event_message_id(state.run_id, mark.kind, mark.step_id or "-", mark.attempt),
        "occurred_at": mark.at,
        "seq": mark.seq,
    }
    if mark.step_id is None:
        return _run_event(state, mark, common)
    step = state.steps.get(mark.step_id)
    if step is None:
        return None
    step_fields = {"step_id": step.step_id, "attempt": mark.attempt, "tool": step.tool}
    if mark.kind == "step.dispatched":
        if mark.attempt > step.attempt:
            return None
        return StepDispatched(**common, **step_fields, input=step.input, input_refs=step.input_refs)
    if step.attempt != mark.attempt or step.finished_at is None:
        return None
    if mark.kind == "step.canceled" and step.status is StepStatus.CANCELED:
        error = step.error or _unknown_error(state)
        return StepCanceled(**common, **step_fields, error=error, finished_at=step.finished_at)
    if step.started_at is None:
        return None
    finish_fields = {
        **step_fields,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "agent": step.agent,
    }
    if mark.kind == "step.completed" and step.status is StepStatus.COMPLETED:
        return StepCompleted(
            **common,
            **finish_fields,
            output=step.output,
            output_ref=step.output_ref,
            usage=step.usage,
        )
    if mark.kind == "step.failed" and step.status in (StepStatus.FAILED, StepStatus.RETRYING):
        error = step.error or _unknown_error(state)
        return StepFailedEvent(**common, **finish_fields, error=error, retry_at=step.retry_at)
    return None


def commands_for(state: ExecutorRunState, mark: EmittedEvent) -> list[Effect]:
    """The commands and timers `mark` implies, as far as the state still calls for them."""
    live = not state.status.is_terminal
    if mark.step_id is None:
        starts = mark.kind in ("run.started", "run.restarted") and mark.attempt == state.restarts
        timer = _deadline_timer(state, mark) if starts and live else None
        return [timer] if timer is not None else []
    step = state.steps.get(mark.step_id)
    if step is None:
        return []
    current = step.attempt == mark.attempt
    out: list[Effect] = []
    if mark.kind == "step.dispatched" and live and current and step.status is StepStatus.DISPATCHED:
        out += [dispatch_command(state, step.step_id), _timeout_timer(state, step.step_id, mark)]
    elif mark.kind == "step.failed":
        if attempt_key(step.step_id, mark.attempt) in state.timed_out:
            reason = timed_out_error(state, step.step_id, mark.attempt)
            out.append(_cancel(state, step.step_id, mark.attempt, reason, mark))
        if live and current and step.status is StepStatus.RETRYING:
            retry = _retry_timer(state, step.step_id, mark)
            out += [retry] if retry is not None else []
    elif mark.kind == "step.canceled":
        reason = (step.error if current else None) or ErrorInfo(
            code=ErrorCode.CANCELED, message="the run ended", run_id=state.run_id
        )
        out.append(_cancel(state, step.step_id, mark.attempt, reason, mark))
    return out


def implied_effects(state: ExecutorRunState, since_seq: int | None) -> tuple[Effect, ...]:
    """What the current state says must have been published, for a redelivered message
    whose transition emitted its first event at `since_seq`.

    - every event from `since_seq` on: the ones that transition emitted, and later ones
      (events are idempotent by id downstream, so re-sending more is harmless);
    - the terminal event if the run is over;
    - the commands those events imply that the state still calls for: dispatches and
      timeouts of attempts still in flight, retries still due, the deadline of a working
      run, stop requests. Commands have real effects, so only those the redelivered
      message could have left unsent are resent: they are recent, inside the duplicate
      window that drops them if they did go out. Older ones were sent by an earlier
      message, acknowledged only after it was sent.
    """
    marks = [m for m in state.emitted if since_seq is not None and m.seq >= since_seq]
    if state.status.is_terminal:
        terminal = [
            m for m in state.emitted if m.kind in TERMINAL_KINDS and m.attempt == state.restarts
        ]
        marks.extend(terminal or _fallback_terminal_mark(state))
    events: list[Effect] = []
    commands: list[Effect] = []
    seen: set[str] = set()
    for mark in marks:
        key = f"{mark.kind}:{mark.step_id}:{mark.attempt}:{mark.seq}"
        if key in seen:
            continue
        seen.add(key)
        event = build_event(state, mark)
        if event is not None:
            events.append(event)
        commands.extend(commands_for(state, mark))
    return (*events, *commands)


def _fallback_terminal_mark(state: ExecutorRunState) -> list[EmittedEvent]:
    """A document without its event log (written by an older executor or another writer):
    the terminal event was the run's last, so its seq is the run's seq."""
    kind = _TERMINAL_KIND_OF.get(state.status)
    if kind is None or state.seq < 1:
        return []
    return [EmittedEvent(seq=state.seq, kind=kind, at=state.updated_at, attempt=state.restarts)]
