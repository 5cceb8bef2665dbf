"""Commands to agents and their results."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, JsonValue

from pulse_contracts.base import Usage
from pulse_contracts.blobs import BlobRef
from pulse_contracts.errors import ErrorInfo
from pulse_contracts.runs import RunScoped

__all__ = ["DispatchTask", "TaskFinished", "task_message_id"]


def task_message_id(run_id: str, step_id: str, attempt: int, kind: str) -> str:
    """Deterministic id `run:step:attempt:kind`, so a resend is dropped as a duplicate."""
    return f"{run_id}:{step_id}:{attempt}:{kind}"


class DispatchTask(RunScoped):
    """Run one step: sent by the executor on `pulse.tasks.dispatch.<agent>`."""

    step_id: str
    attempt: int = Field(default=1, ge=1)
    tool: str
    agent: str = "default"
    input: dict[str, JsonValue] = Field(description="Input with every reference resolved.")
    timeout_s: float = Field(default=30.0, gt=0)
    input_refs: dict[str, BlobRef] = Field(
        default_factory=dict,
        description="Input fields too large for a message, by field name: their value in "
        "`input` is null and the agent-adapter reads them from the object store.",
    )


class TaskFinished(RunScoped):
    """The outcome of one attempt at a step, sent by the agent-adapter on `pulse.tasks.result`."""

    step_id: str
    attempt: int = Field(ge=1)
    tool: str
    outcome: Literal["succeeded", "failed"]
    output: JsonValue = None
    error: ErrorInfo | None = None
    usage: Usage = Field(default_factory=Usage)
    started_at: datetime
    finished_at: datetime
    output_ref: BlobRef | None = Field(
        default=None,
        description="Set when the output was too large for a message: `output` is null and "
        "the value is in the object store.",
    )
    agent: str | None = Field(
        default=None,
        max_length=256,
        description="Who did the work: `provider/model` for a step that called an LLM, else "
        "the agent profile that ran the tool. The executor copies it into the step's event.",
    )
