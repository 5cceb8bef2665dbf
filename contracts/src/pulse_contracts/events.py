"""Run events: the history of a run, published on `pulse.runs.events.<run_id>`.

The executor owns a run's lifecycle and numbers its events with `seq` (strictly increasing
per run), so a consumer that sees them out of order — after a redelivery, say — can still
keep the latest state. `message_id` is the event id: deterministic, and the archiver's
primary key, so an event archived twice is stored once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, JsonValue, TypeAdapter

from pulse_contracts.base import Usage
from pulse_contracts.blobs import BlobRef
from pulse_contracts.errors import ErrorInfo
from pulse_contracts.plan import Plan
from pulse_contracts.runs import RunScoped

__all__ = [
    "RUN_EVENT_ADAPTER",
    "RunCanceled",
    "RunCompleted",
    "RunEvent",
    "RunEventBase",
    "RunFailed",
    "RunRejected",
    "RunRestarted",
    "RunStarted",
    "StepCanceled",
    "StepCompleted",
    "StepDispatched",
    "StepFailed",
    "event_message_id",
]


_AGENT = (
    "Who did the work, as the agent-adapter reported it: `provider/model` for a step that "
    "called an LLM, else the agent profile that ran the tool. Unset when not reported."
)


def event_message_id(run_id: str, kind: str, step_id: str = "-", attempt: int = 0) -> str:
    """`run:step:attempt:kind`. Run-level events use `-` as step and the run's number of
    restarts as attempt, so a run that fails again after a restart gets a new event id."""
    return f"{run_id}:{step_id}:{attempt}:{kind}"


class RunEventBase(RunScoped):
    seq: int = Field(ge=0, description="Position of the event in its run's history.")


class RunStarted(RunEventBase):
    type: Literal["run.started"] = "run.started"
    prompt: str
    plan: Plan
    planner: str


class RunRejected(RunEventBase):
    type: Literal["run.rejected"] = "run.rejected"
    prompt: str
    error: ErrorInfo


class StepDispatched(RunEventBase):
    type: Literal["step.dispatched"] = "step.dispatched"
    step_id: str
    attempt: int
    tool: str
    input: dict[str, JsonValue]
    input_refs: dict[str, BlobRef] = Field(
        default_factory=dict,
        description="Input fields kept in the object store (null in `input`), by field name.",
    )


class StepCompleted(RunEventBase):
    type: Literal["step.completed"] = "step.completed"
    step_id: str
    attempt: int
    tool: str
    output: JsonValue
    usage: Usage = Field(default_factory=Usage)
    started_at: datetime
    finished_at: datetime
    output_ref: BlobRef | None = Field(
        default=None,
        description="Set when the output is in the object store: `output` is then null.",
    )
    agent: str | None = Field(default=None, max_length=256, description=_AGENT)


class StepFailed(RunEventBase):
    type: Literal["step.failed"] = "step.failed"
    step_id: str
    attempt: int
    tool: str
    error: ErrorInfo
    started_at: datetime
    finished_at: datetime
    retry_at: datetime | None = Field(
        default=None,
        description="Set when the step will be tried again: when the next attempt is "
        "dispatched. Unset: this failure is final.",
    )
    agent: str | None = Field(default=None, max_length=256, description=_AGENT)


class StepCanceled(RunEventBase):
    """An attempt was in flight when its run ended (canceled, failed, past its deadline);
    its agent was told to stop and its result will be ignored."""

    type: Literal["step.canceled"] = "step.canceled"
    step_id: str
    attempt: int
    tool: str
    error: ErrorInfo = Field(description="Why it was stopped (`canceled`, `deadline_exceeded`).")
    finished_at: datetime


class RunCompleted(RunEventBase):
    type: Literal["run.completed"] = "run.completed"
    result: JsonValue
    usage: Usage = Field(default_factory=Usage)
    error: ErrorInfo | None = Field(
        default=None,
        description="Set when steps with `on_failure: continue` failed: the run completed "
        "without them (their outputs are missing from `result`).",
    )
    result_refs: dict[str, BlobRef] = Field(
        default_factory=dict,
        description="Sinks whose output is in the object store, by step id: their place in "
        "`result` is null (with one sink, `result` itself is).",
    )


class RunFailed(RunEventBase):
    type: Literal["run.failed"] = "run.failed"
    error: ErrorInfo
    usage: Usage = Field(default_factory=Usage)


class RunCanceled(RunEventBase):
    type: Literal["run.canceled"] = "run.canceled"
    error: ErrorInfo = Field(description="`canceled`, with the reason given.")
    usage: Usage = Field(default_factory=Usage)


class RunRestarted(RunEventBase):
    """A failed or canceled run works again; `seq` goes on from where it was."""

    type: Literal["run.restarted"] = "run.restarted"
    restarts: int = Field(ge=1, description="How many times the run has been restarted.")
    steps: list[str] = Field(description="The steps that run again (all but the completed).")
    reason: str = ""
    usage: Usage = Field(default_factory=Usage, description="Usage so far (it is not reset).")


RunEvent = Annotated[
    RunStarted
    | RunRejected
    | StepDispatched
    | StepCompleted
    | StepFailed
    | StepCanceled
    | RunCompleted
    | RunFailed
    | RunCanceled
    | RunRestarted,
    Field(discriminator="type"),
]
RUN_EVENT_ADAPTER: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)
