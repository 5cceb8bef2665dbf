"""The pieces tasks and task updates are made of: JSON values as protobuf, a step's output
as an artifact, and the agent's last word on a run that ended. Pure; shared by the task
view of a run's state (`mapping`) and the updates made from its events (`updates`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, cast

from a2a.types import Artifact, Message, Part, Role
from google.protobuf import json_format, struct_pb2
from pydantic import BaseModel

from pulse_contracts import ErrorInfo, JsonValue, RunStatus, Usage

__all__ = ["dump", "final_message", "json_struct", "json_value", "step_artifact"]

_JSON: Final = "application/json"


def json_value(value: JsonValue) -> struct_pb2.Value:
    # ParseDict takes any JSON value for a `Value`, despite its annotation.
    return json_format.ParseDict(cast(Any, value), struct_pb2.Value())


def json_struct(values: Mapping[str, JsonValue]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    return struct


def _json_text(value: JsonValue) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def dump(model: BaseModel) -> JsonValue:
    dumped: JsonValue = model.model_dump(mode="json", exclude_none=True)
    return dumped


def _output_parts(output: JsonValue, output_ref: object) -> list[Part]:
    if isinstance(output_ref, BaseModel):
        # Too large for the bus: the value is in the object store; say where.
        ref = dump(output_ref)
        return [Part(data=json_value({"output_ref": ref}), media_type=_JSON)]
    if isinstance(output, str):
        return [Part(text=output)]
    return [Part(data=json_value(output), media_type=_JSON)]


def step_artifact(
    step_id: str, tool: str, attempt: int, output: JsonValue, usage: Usage, output_ref: object
) -> Artifact:
    return Artifact(
        artifact_id=step_id,
        name=step_id,
        description=f"Output of step {step_id} ({tool})",
        parts=_output_parts(output, output_ref),
        metadata=json_struct(
            {"step_id": step_id, "tool": tool, "attempt": attempt, "usage": dump(usage)}
        ),
    )


def _agent_message(
    *, run_id: str, context_id: str, key: str, text: str, data: JsonValue = None
) -> Message:
    parts = [Part(text=text)]
    if data is not None:
        parts.append(Part(data=json_value(data), media_type=_JSON))
    return Message(
        message_id=f"{run_id}-{key}",
        role=Role.ROLE_AGENT,
        task_id=run_id,
        context_id=context_id,
        parts=parts,
    )


def _result_text(result: JsonValue, error: ErrorInfo | None) -> str:
    text = "Completed." if result is None else _json_text(result)
    if error is not None:
        text += f"\n(Some steps failed and were left out: {error.message})"
    return text


def final_message(
    *,
    run_id: str,
    context_id: str,
    status: RunStatus,
    seq: int,
    result: JsonValue,
    error: ErrorInfo | None,
) -> Message | None:
    """The agent's last word on a run that ended; None while it has not.

    Its id is the status and the seq of the run's terminal event, which is the run's seq
    once it ended, so the state and the event stream name the same message.
    """
    if not status.is_terminal:
        return None
    key = f"{status.value}-{seq}"
    if status is RunStatus.COMPLETED:
        data = None if isinstance(result, str) or result is None else result
        return _agent_message(
            run_id=run_id,
            context_id=context_id,
            key=key,
            text=_result_text(result, error),
            data=data,
        )
    reason = error.message if error is not None else status.value
    return _agent_message(
        run_id=run_id,
        context_id=context_id,
        key=key,
        text=reason,
        data=None if error is None else dump(error),
    )
