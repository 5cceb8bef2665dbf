"""What callers may ask about the platform rather than one run: the tool catalogue, every
component's health, and the caller's own usage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pulse_gateway.api.deps import Caller, History, Status, Tools
from pulse_gateway.api.problems import PROBLEM_RESPONSES
from pulse_gateway.api.resources import StatusView, ToolList, ToolView, UsageReport
from pulse_gateway.api.strict import refuse_unknown_query
from pulse_gateway.api.text import IsoDateTime
from pulse_gateway.domain import RunQuery

__all__ = ["platform_router"]


def platform_router() -> APIRouter:
    router = APIRouter(
        prefix="/v1",
        tags=["platform"],
        responses=PROBLEM_RESPONSES,
        dependencies=[Depends(refuse_unknown_query)],
    )

    @router.get("/tools", response_model=ToolList, summary="The tools plans may use")
    async def list_tools(caller: Caller, tools: Tools) -> ToolList:
        return ToolList(tools=[ToolView.of(spec) for spec in await tools.tools()])

    @router.get(
        "/status",
        response_model=StatusView,
        summary="Each component's health and lag as the bus sees it, NATS and PostgreSQL",
    )
    async def platform_status(caller: Caller, status: Status) -> StatusView:
        return StatusView.of(await status.report())

    @router.get(
        "/usage",
        response_model=UsageReport,
        summary="The caller's runs, tokens and cost (archived runs), optionally in a period",
    )
    async def usage(
        caller: Caller,
        history: History,
        since: Annotated[IsoDateTime | None, Query(description="Created at or after.")] = None,
        until: Annotated[IsoDateTime | None, Query(description="Created before.")] = None,
    ) -> UsageReport:
        period = RunQuery(since=since, until=until)  # normalises zone-less times to UTC
        totals = await history.usage(tenant=caller.id, since=period.since, until=period.until)
        return UsageReport.of(caller.id, period.since, period.until, totals)

    return router
