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
from pulse_contracts.errors import ErrorInfo
from pulse_contracts.plan import Plan
from pulse_contracts.runs import RunScoped

__all__ = [
    "RUN_EVENT_ADAPTER",
    "RunCompleted",
    "RunEvent",
    "RunEventBase",
    "RunFailed",
    "RunRejected",
    "RunStarted",
    "StepCompleted",
    "StepDispatched",
    "StepFailed",
    "event_message_id",
]


def event_message_id(run_id: str, kind: str, step_id: str = "-", attempt: int = 0) -> str:
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


class StepCompleted(RunEventBase):
    type: Literal["step.completed"] = "step.completed"
    step_id: str
    attempt: int
    tool: str
    output: JsonValue
    usage: Usage = Field(default_factory=Usage)
    started_at: datetime
    finished_at: datetime


class StepFailed(RunEventBase):
    type: Literal["step.failed"] = "step.failed"
    step_id: str
    attempt: int
    tool: str
    error: ErrorInfo
    started_at: datetime
    finished_at: datetime


class RunCompleted(RunEventBase):
    type: Literal["run.completed"] = "run.completed"
    result: JsonValue
    usage: Usage = Field(default_factory=Usage)


class RunFailed(RunEventBase):
    type: Literal["run.failed"] = "run.failed"
    error: ErrorInfo
    usage: Usage = Field(default_factory=Usage)


RunEvent = Annotated[
    RunStarted
    | RunRejected
    | StepDispatched
    | StepCompleted
    | StepFailed
    | RunCompleted
    | RunFailed,
    Field(discriminator="type"),
]
RUN_EVENT_ADAPTER: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)
