"""Messages that start a run and carry its plan."""

from __future__ import annotations

from pydantic import Field, JsonValue

from pulse_contracts.base import Message
from pulse_contracts.errors import ErrorInfo
from pulse_contracts.plan import Plan

__all__ = ["PlanCreated", "PlanRejected", "RunRequested", "RunScoped"]

RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
TENANT_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_DEADLINE_S = 7 * 24 * 3600.0
_DEADLINE = (
    "Seconds the run may work before it ends `failed` with `deadline_exceeded`, counted "
    "from when the executor starts it (afresh at each restart). Unset: the executor's "
    "default (`PULSE_RUN_DEADLINE_S`)."
)


class RunScoped(Message):
    run_id: str = Field(pattern=RUN_ID_PATTERN)
    tenant: str = Field(default="default", pattern=TENANT_PATTERN)
    trace_id: str | None = Field(
        default=None, description="W3C trace id of the run, for logs and the archive."
    )


class RunRequested(RunScoped):
    """Published on `pulse.runs.requested` by the gateway or by any other system.

    Use `run:<run_id>:requested` as `message_id` and send it as `Nats-Msg-Id`.
    """

    prompt: str = Field(min_length=1, max_length=20_000)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, max_length=256)
    deadline_s: float | None = Field(default=None, gt=0, le=MAX_DEADLINE_S, description=_DEADLINE)


class PlanCreated(RunScoped):
    """The planner turned the goal into a valid plan; the executor takes it from here."""

    prompt: str
    plan: Plan
    planner: str = Field(description="Which planner made the plan, e.g. `rule-based`.")
    deadline_s: float | None = Field(
        default=None, gt=0, le=MAX_DEADLINE_S, description=_DEADLINE + " Copied from the request."
    )


class PlanRejected(RunScoped):
    """The goal could not be planned; the run ends `rejected`."""

    prompt: str
    error: ErrorInfo
