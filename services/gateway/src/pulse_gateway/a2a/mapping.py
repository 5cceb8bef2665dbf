"""How a Pulse run reads as an A2A task: pure translations, no I/O.

A run IS a task: task id = run id, task state = run status (Pulse's run statuses are the A2A
task states). Each completed step's output is an artifact (id = step id). Progress — the
plan, steps starting and failing — travels as `working` status updates whose metadata says
which event it was; the terminal status carries an agent message with the result or the
reason. This module reads a task from the run's state (GetTask, ListTasks); `updates`
makes the updates from the run's events (streams) out of the same `parts`, so both views
agree on ids and contents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from a2a.types import Message, Part, Role, Task, TaskState, TaskStatus

from pulse_contracts import JsonValue, RunState, RunStatus, StepStatus
from pulse_gateway.a2a.parts import dump, final_message, json_struct, step_artifact
from pulse_gateway.domain import ordered_steps

__all__ = [
    "A2A_METADATA_KEY",
    "RUN_STATUS_OF",
    "TASK_STATE_OF",
    "a2a_run_metadata",
    "context_id_of",
    "idempotency_key",
    "initial_task",
    "prompt_of",
    "task_of",
]

A2A_METADATA_KEY: Final = "a2a"
"""Run metadata key holding the A2A ids of a run started over A2A: `context_id`, `message_id`."""
_TASK_METADATA_KEY: Final = "pulse"
# Past this, an A2A message id is hashed before it becomes part of an idempotency key
# (RunRequested caps idempotency keys at 256 characters).
_MAX_PLAIN_MESSAGE_ID: Final = 200

TASK_STATE_OF: Final[Mapping[RunStatus, TaskState]] = {
    RunStatus.SUBMITTED: TaskState.TASK_STATE_SUBMITTED,
    RunStatus.WORKING: TaskState.TASK_STATE_WORKING,
    RunStatus.COMPLETED: TaskState.TASK_STATE_COMPLETED,
    RunStatus.FAILED: TaskState.TASK_STATE_FAILED,
    RunStatus.CANCELED: TaskState.TASK_STATE_CANCELED,
    RunStatus.REJECTED: TaskState.TASK_STATE_REJECTED,
}
RUN_STATUS_OF: Final[Mapping[TaskState, RunStatus]] = {v: k for k, v in TASK_STATE_OF.items()}


# --- ids ------------------------------------------------------------------------------------
def idempotency_key(message_id: str) -> str:
    """The run's idempotency key for an A2A message: resending a message names the same run."""
    if len(message_id) > _MAX_PLAIN_MESSAGE_ID:
        message_id = "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    return f"a2a:{message_id}"


def a2a_run_metadata(context_id: str, message_id: str) -> dict[str, JsonValue]:
    return {A2A_METADATA_KEY: {"context_id": context_id, "message_id": message_id}}


def _a2a_field(state: RunState, name: str) -> str | None:
    ids = state.metadata.get(A2A_METADATA_KEY)
    value = ids.get(name) if isinstance(ids, dict) else None
    return value if isinstance(value, str) and value else None


def context_id_of(state: RunState) -> str:
    """The A2A context of a run; a run submitted over REST is a context of its own."""
    return _a2a_field(state, "context_id") or state.run_id


def prompt_of(message: Message) -> str:
    """The goal a message carries: its text parts, one per line."""
    return "\n".join(part.text for part in message.parts if part.HasField("text"))


def _user_message(state: RunState, context_id: str) -> Message:
    return Message(
        message_id=_a2a_field(state, "message_id") or f"{state.run_id}-prompt",
        role=Role.ROLE_USER,
        task_id=state.run_id,
        context_id=context_id,
        parts=[Part(text=state.prompt)],
    )


# --- a run's state as a task --------------------------------------------------------------------
def task_of(state: RunState) -> Task:
    """The task a run is, as its live state shows it (GetTask, ListTasks, subscriptions)."""
    context_id = context_id_of(state)
    status = TaskStatus(state=TASK_STATE_OF[state.status], timestamp=state.updated_at)
    final = final_message(
        run_id=state.run_id,
        context_id=context_id,
        status=state.status,
        seq=state.seq,
        result=state.result,
        error=state.error,
    )
    if final is not None:
        status.message.CopyFrom(final)
    artifacts = [
        step_artifact(
            step.step_id,
            step.tool,
            step.attempt,
            step.output,
            step.usage,
            getattr(step, "output_ref", None),
        )
        for step in ordered_steps(state)
        if step.status is StepStatus.COMPLETED
    ]
    metadata: dict[str, JsonValue] = {"usage": dump(state.usage)}
    if state.trace_id:
        metadata["trace_id"] = state.trace_id
    if state.planner:
        metadata["planner"] = state.planner
    return Task(
        id=state.run_id,
        context_id=context_id,
        status=status,
        artifacts=artifacts,
        history=[_user_message(state, context_id)],
        metadata=json_struct({_TASK_METADATA_KEY: metadata}),
    )


def initial_task(*, run_id: str, context_id: str, message: Message, now: datetime) -> Task:
    """The task as it is the moment it is submitted, before the run's state exists."""
    history = Message()
    history.CopyFrom(message)
    history.task_id = run_id
    history.context_id = context_id
    return Task(
        id=run_id,
        context_id=context_id,
        status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED, timestamp=now),
        history=[history],
    )
