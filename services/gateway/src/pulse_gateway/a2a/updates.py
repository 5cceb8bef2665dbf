"""A run's events as A2A task updates: progress as `working` status updates (their metadata
`pulse_event` names the event), each completed step as an artifact update, the ending as
the terminal status with the agent's last word — the same one the run's state shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, TypeAlias

from a2a.types import Message, TaskArtifactUpdateEvent, TaskState, TaskStatus, TaskStatusUpdateEvent
from pydantic import BaseModel

from pulse_contracts import (
    JsonValue,
    RunCanceled,
    RunCompleted,
    RunEvent,
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
from pulse_gateway.a2a.mapping import TASK_STATE_OF
from pulse_gateway.a2a.parts import dump, final_message, json_struct, step_artifact

__all__ = ["TaskUpdate", "is_terminal_event", "updates_of"]

TaskUpdate: TypeAlias = TaskStatusUpdateEvent | TaskArtifactUpdateEvent

_EVENT_METADATA_KEY: Final = "pulse_event"


def _status(
    event: RunEvent,
    context_id: str,
    state: TaskState,
    details: Mapping[str, JsonValue],
    message: Message | None = None,
) -> TaskStatusUpdateEvent:
    status = TaskStatus(state=state, timestamp=event.occurred_at)
    if message is not None:
        status.message.CopyFrom(message)
    return TaskStatusUpdateEvent(
        task_id=event.run_id,
        context_id=context_id,
        status=status,
        metadata=json_struct(
            {_EVENT_METADATA_KEY: {"type": event.type, "seq": event.seq, **details}}
        ),
    )


def _ended(
    event: RunCompleted | RunFailed | RunCanceled | RunRejected,
    context_id: str,
    status: RunStatus,
) -> TaskStatusUpdateEvent:
    result = event.result if isinstance(event, RunCompleted) else None
    final = final_message(
        run_id=event.run_id,
        context_id=context_id,
        status=status,
        seq=event.seq,
        result=result,
        error=event.error,
    )
    return _status(event, context_id, TASK_STATE_OF[status], {}, final)


_ENDED: Final[Mapping[type[BaseModel], RunStatus]] = {
    RunCompleted: RunStatus.COMPLETED,
    RunFailed: RunStatus.FAILED,
    RunCanceled: RunStatus.CANCELED,
    RunRejected: RunStatus.REJECTED,
}


def is_terminal_event(event: RunEvent) -> bool:
    return type(event) in _ENDED


def updates_of(event: RunEvent, context_id: str) -> list[TaskUpdate]:
    """The task updates one run event stands for (none for events a client has no use for)."""
    working = TaskState.TASK_STATE_WORKING
    match event:
        case RunCompleted() | RunFailed() | RunCanceled() | RunRejected():
            return [_ended(event, context_id, _ENDED[type(event)])]
        case StepCompleted():
            artifact = step_artifact(
                event.step_id,
                event.tool,
                event.attempt,
                event.output,
                event.usage,
                getattr(event, "output_ref", None),
            )
            return [
                TaskArtifactUpdateEvent(
                    task_id=event.run_id,
                    context_id=context_id,
                    artifact=artifact,
                    last_chunk=True,
                )
            ]
        case RunStarted():
            steps: list[JsonValue] = [s.id for s in event.plan.steps]
            return [_status(event, context_id, working, {"planner": event.planner, "steps": steps})]
        case StepDispatched():
            step: dict[str, JsonValue] = {
                "step_id": event.step_id,
                "tool": event.tool,
                "attempt": event.attempt,
            }
            return [_status(event, context_id, working, step)]
        case StepFailedEvent() | StepCanceled():
            details: dict[str, JsonValue] = {
                "step_id": event.step_id,
                "tool": event.tool,
                "attempt": event.attempt,
                "error": dump(event.error),
            }
            if isinstance(event, StepFailedEvent) and event.retry_at is not None:
                details["retry_at"] = event.retry_at.isoformat()
            return [_status(event, context_id, working, details)]
        case RunRestarted():
            again: list[JsonValue] = list(event.steps)
            return [
                _status(event, context_id, working, {"restarts": event.restarts, "steps": again})
            ]
    return []
