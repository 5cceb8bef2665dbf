"""The live state of a run, as the executor keeps it in the `pulse_run_state` KV bucket.

The executor writes it with compare-and-set; the gateway reads it to answer
`GET /v1/runs/{run_id}`. `seq` counts the run's events and doubles as a version.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, JsonValue

from pulse_contracts.base import Usage, utcnow
from pulse_contracts.blobs import BlobRef
from pulse_contracts.errors import ErrorInfo
from pulse_contracts.plan import Plan
from pulse_contracts.status import RunStatus, StepStatus

__all__ = ["RunState", "StepState"]


class StepState(BaseModel):
    step_id: str
    tool: str
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0
    input: dict[str, JsonValue] = Field(default_factory=dict)
    output: JsonValue = None
    error: ErrorInfo | None = None
    usage: Usage = Field(default_factory=Usage)
    dispatched_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    retry_at: datetime | None = Field(
        default=None, description="While `retrying`: when the next attempt is dispatched."
    )
    input_refs: dict[str, BlobRef] = Field(
        default_factory=dict,
        description="Input fields kept in the object store (null in `input`), by field name.",
    )
    output_ref: BlobRef | None = Field(
        default=None, description="Set when the output is in the object store (`output` is null)."
    )
    agent: str | None = Field(
        default=None, description="Who ran the current attempt, as its result reported it."
    )

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000


class RunState(BaseModel):
    run_id: str
    tenant: str
    prompt: str
    status: RunStatus = RunStatus.SUBMITTED
    plan: Plan | None = None
    planner: str | None = None
    steps: dict[str, StepState] = Field(default_factory=dict)
    result: JsonValue = None
    result_refs: dict[str, BlobRef] = Field(
        default_factory=dict,
        description="Sinks whose output is in the object store, by step id (null in `result`).",
    )
    error: ErrorInfo | None = None
    usage: Usage = Field(default_factory=Usage)
    trace_id: str | None = None
    trace_context: dict[str, str] = Field(
        default_factory=dict,
        description="W3C headers of the run's span, so steps dispatched later join its trace.",
    )
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    deadline_at: datetime | None = Field(
        default=None, description="When a still-working run ends `failed` (deadline_exceeded)."
    )
    restarts: int = Field(default=0, ge=0, description="How many times the run was restarted.")
    seq: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
