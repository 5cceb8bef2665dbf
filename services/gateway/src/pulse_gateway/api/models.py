"""The public HTTP shapes. Deliberately separate from the bus contracts: the API is
versioned on its own, and internal fields (trace context, seq) never leak out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from pulse_contracts import BlobRef, ErrorInfo, Plan, RunState, StepState, Usage
from pulse_gateway.api.text import searchable

__all__ = [
    "CreateRun",
    "ErrorView",
    "FieldProblem",
    "PlanStepView",
    "PlanView",
    "Problem",
    "RunCreated",
    "RunLinks",
    "RunView",
    "StepView",
    "StoredValueView",
    "UsageView",
]


_BLANKS = " \t\n\r\f\v"
_ONLY_BLANKS = r"^[ \t\n\r\f\v]*$"
_NO_NUL = r"^[^\x00]*$"


class CreateRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(
        min_length=1,
        max_length=20_000,
        description="The goal, in words (not only spaces, tabs or line breaks).",
        # Documents what `_not_blank` checks, in regexes every engine reads the same way:
        # no NUL anywhere, and not only blanks.
        json_schema_extra={"pattern": _NO_NUL, "not": {"pattern": _ONLY_BLANKS}},
    )
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict, description="Free-form; stored with the run and passed along."
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Submitting the same key again returns the same run instead of a new one.",
    )

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip(_BLANKS):
            raise ValueError("prompt must not be blank")
        # Stored and archived as text: PostgreSQL refuses NUL, and JSON cannot carry half
        # of a surrogate pair; refuse both here rather than fail a later hop.
        return searchable(value)


class RunLinks(BaseModel):
    self_: str = Field(alias="self", serialization_alias="self")

    model_config = ConfigDict(populate_by_name=True)


class RunCreated(BaseModel):
    run_id: str
    status: str
    trace_id: str | None
    created_at: datetime
    links: RunLinks

    @classmethod
    def of(cls, state: RunState) -> RunCreated:
        return cls(
            run_id=state.run_id,
            status=state.status.value,
            trace_id=state.trace_id,
            created_at=state.created_at,
            links=RunLinks(self_=f"/v1/runs/{state.run_id}"),
        )


class UsageView(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @classmethod
    def of(cls, usage: Usage) -> UsageView:
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
        )


class ErrorView(BaseModel):
    code: str
    message: str
    step_id: str | None = None
    retryable: bool = False

    @classmethod
    def of(cls, error: ErrorInfo | None) -> ErrorView | None:
        if error is None:
            return None
        return cls(
            code=error.code.value,
            message=error.message,
            step_id=error.step_id,
            retryable=error.retryable,
        )


class PlanStepView(BaseModel):
    id: str
    tool: str
    agent: str
    input: dict[str, JsonValue]
    depends_on: list[str]
    description: str


class PlanView(BaseModel):
    steps: list[PlanStepView]

    @classmethod
    def of(cls, plan: Plan | None) -> PlanView | None:
        if plan is None:
            return None
        return cls(
            steps=[
                PlanStepView(
                    id=s.id,
                    tool=s.tool,
                    agent=s.agent,
                    input=s.input,
                    depends_on=s.depends_on,
                    description=s.description,
                )
                for s in plan.steps
            ]
        )


class StoredValueView(BaseModel):
    """A value too large for the run document: in the object store, not shown inline."""

    bucket: str
    key: str
    size: int = Field(description="Bytes of its JSON.")
    sha256: str

    @classmethod
    def of(cls, ref: BlobRef) -> StoredValueView:
        return cls(bucket=ref.bucket, key=ref.key, size=ref.size, sha256=ref.sha256)


class StepView(BaseModel):
    step_id: str
    tool: str
    status: str
    attempt: int
    input: dict[str, JsonValue]
    output: JsonValue
    output_ref: StoredValueView | None = Field(
        default=None, description="Set when the output is too large to show: `output` is null."
    )
    error: ErrorView | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    usage: UsageView

    @classmethod
    def of(cls, step: StepState) -> StepView:
        return cls(
            step_id=step.step_id,
            tool=step.tool,
            status=step.status.value,
            attempt=step.attempt,
            input=step.input,
            output=step.output,
            output_ref=StoredValueView.of(step.output_ref) if step.output_ref else None,
            error=ErrorView.of(step.error),
            started_at=step.started_at,
            finished_at=step.finished_at,
            duration_ms=step.duration_ms,
            usage=UsageView.of(step.usage),
        )


class RunView(BaseModel):
    run_id: str
    tenant: str
    status: str
    prompt: str
    metadata: dict[str, JsonValue]
    plan: PlanView | None
    planner: str | None
    steps: list[StepView]
    result: JsonValue
    result_refs: dict[str, StoredValueView] = Field(
        default_factory=dict,
        description="Sinks whose output is too large to show, by step id: null in `result`.",
    )
    error: ErrorView | None
    usage: UsageView
    trace_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, state: RunState, steps: list[StepState]) -> RunView:
        return cls(
            run_id=state.run_id,
            tenant=state.tenant,
            status=state.status.value,
            prompt=state.prompt,
            metadata=state.metadata,
            plan=PlanView.of(state.plan),
            planner=state.planner,
            steps=[StepView.of(s) for s in steps],
            result=state.result,
            result_refs={sid: StoredValueView.of(r) for sid, r in state.result_refs.items()},
            error=ErrorView.of(state.error),
            usage=UsageView.of(state.usage),
            trace_id=state.trace_id,
            created_at=state.created_at,
            updated_at=state.updated_at,
        )


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(
        default=None, description="Which input fields were wrong (422 only)."
    )
    trace_id: str | None = Field(default=None, description="Quote it when reporting a problem.")
