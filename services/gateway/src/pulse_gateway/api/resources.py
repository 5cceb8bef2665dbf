"""Response shapes of the listing, tools, status and usage endpoints (the run view and the
problem shapes are in `models`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, JsonValue

from pulse_contracts import RunState, ToolSpec
from pulse_gateway.adapters.ports import UsageTotals
from pulse_gateway.api.models import ErrorView, RunLinks, UsageView
from pulse_gateway.domain import ComponentHealth, Cursor
from pulse_gateway.platform import StatusReport

__all__ = [
    "ComponentView",
    "ConsumerView",
    "RunList",
    "RunSummary",
    "StatusView",
    "ToolList",
    "ToolView",
    "UsageReport",
]

_PROMPT_PREVIEW = 200


class RunSummary(BaseModel):
    run_id: str
    status: str
    prompt: str = Field(description=f"The goal, cut to {_PROMPT_PREVIEW} characters.")
    error: ErrorView | None
    usage: UsageView
    trace_id: str | None
    created_at: datetime
    updated_at: datetime
    links: RunLinks

    @classmethod
    def of(cls, state: RunState) -> RunSummary:
        prompt = state.prompt
        if len(prompt) > _PROMPT_PREVIEW:
            prompt = prompt[: _PROMPT_PREVIEW - 1] + "…"
        return cls(
            run_id=state.run_id,
            status=state.status.value,
            prompt=prompt,
            error=ErrorView.of(state.error),
            usage=UsageView.of(state.usage),
            trace_id=state.trace_id,
            created_at=state.created_at,
            updated_at=state.updated_at,
            links=RunLinks(self_=f"/v1/runs/{state.run_id}"),
        )


class RunList(BaseModel):
    runs: list[RunSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )

    @classmethod
    def of(cls, runs: list[RunState], next_cursor: Cursor | None) -> RunList:
        return cls(
            runs=[RunSummary.of(s) for s in runs],
            next_cursor=next_cursor.encode() if next_cursor else None,
        )


class ToolView(BaseModel):
    name: str
    version: str
    description: str
    input_schema: dict[str, JsonValue]
    output_schema: dict[str, JsonValue]

    @classmethod
    def of(cls, spec: ToolSpec) -> ToolView:
        return cls(
            name=spec.name,
            version=spec.version,
            description=spec.description,
            input_schema=spec.input_schema,
            output_schema=spec.output_schema,
        )


class ToolList(BaseModel):
    tools: list[ToolView]


class ConsumerView(BaseModel):
    stream: str | None
    durable: str
    health: str = Field(description="`up`, `down` (nobody pulling) or `missing`.")
    num_pending: int = Field(description="Messages not delivered yet: the lag.")
    num_ack_pending: int = Field(description="Delivered, not acknowledged yet: in flight.")
    num_waiting: int = Field(description="Pull requests waiting: consumers alive and idle.")
    num_redelivered: int
    last_active: datetime | None


class ComponentView(BaseModel):
    name: str
    health: str
    pending: int
    consumers: list[ConsumerView]

    @classmethod
    def of(cls, component: ComponentHealth) -> ComponentView:
        return cls(
            name=component.name,
            health=component.health.value,
            pending=component.pending,
            consumers=[
                ConsumerView(
                    stream=c.lag.stream,
                    durable=c.lag.durable,
                    health=c.health.value,
                    num_pending=c.lag.num_pending,
                    num_ack_pending=c.lag.num_ack_pending,
                    num_waiting=c.lag.num_waiting,
                    num_redelivered=c.lag.num_redelivered,
                    last_active=c.lag.last_active,
                )
                for c in component.consumers
            ],
        )


class StatusView(BaseModel):
    status: str = Field(description="`ok`, or `degraded` when anything below is not.")
    checked_at: datetime
    dependencies: dict[str, bool] = Field(description="`nats`, and `postgres` if configured.")
    components: list[ComponentView]

    @classmethod
    def of(cls, report: StatusReport) -> StatusView:
        return cls(
            status=report.status,
            checked_at=report.checked_at,
            dependencies=report.dependencies,
            components=[ComponentView.of(c) for c in report.components],
        )


class UsageReport(BaseModel):
    tenant: str
    since: datetime | None
    until: datetime | None
    runs: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    by_status: dict[str, int]

    @classmethod
    def of(
        cls, tenant: str, since: datetime | None, until: datetime | None, totals: UsageTotals
    ) -> UsageReport:
        return cls(
            tenant=tenant,
            since=since,
            until=until,
            runs=totals.runs,
            prompt_tokens=totals.prompt_tokens,
            completion_tokens=totals.completion_tokens,
            cost_usd=totals.cost_usd,
            by_status=dict(totals.by_status),
        )
