"""The run endpoints: thin translations between HTTP and `RunIntake` / `RunHistory` /
`RunControl`. Event streams are in `api.events`, tools/status/usage in `api.platform`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from pulse_contracts import RunStatus
from pulse_gateway.api.deps import Caller, Control, History, Intake, gateway_state
from pulse_gateway.api.models import CreateRun, RunCreated, RunView
from pulse_gateway.api.problems import PROBLEM_RESPONSES, problem_doc
from pulse_gateway.api.resources import RunList
from pulse_gateway.api.strict import refuse_unknown_query
from pulse_gateway.api.text import IsoDateTime, SearchText
from pulse_gateway.api.timeline import TimelineView
from pulse_gateway.domain import (
    CURSOR_PATTERN,
    MAX_PAGE,
    Cursor,
    InvalidCursorError,
    RunQuery,
    ordered_steps,
)

__all__ = ["runs_router"]


def _cursor(token: str | None) -> Cursor | None:
    if token is None:
        return None
    try:
        return Cursor.decode(token)
    except InvalidCursorError:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "cursor"),
                    "msg": "not a cursor this API returned",
                    "type": "value_error",
                }
            ]
        ) from None


def runs_router() -> APIRouter:
    router = APIRouter(
        prefix="/v1/runs",
        tags=["runs"],
        responses=PROBLEM_RESPONSES,
        dependencies=[Depends(refuse_unknown_query)],
    )

    @router.post(
        "",
        status_code=202,
        response_model=RunCreated,
        summary="Submit a goal; it is planned and executed asynchronously",
    )
    async def create_run(
        body: CreateRun,
        caller: Caller,
        intake: Intake,
        history: History,
        request: Request,
        response: Response,
    ) -> RunCreated:
        admission = gateway_state(request).admission
        if admission is not None:
            await admission.admit()
        submission = await intake.submit(
            tenant=caller.id,
            prompt=body.prompt,
            metadata=body.metadata,
            idempotency_key=body.idempotency_key,
        )
        if submission.created:
            history.note(submission.state)
        created = RunCreated.of(submission.state)
        response.headers["Location"] = created.links.self_
        return created

    @router.get(
        "",
        response_model=RunList,
        summary="The caller's runs, newest first, a page at a time",
    )
    async def list_runs(
        caller: Caller,
        history: History,
        status: Annotated[
            list[RunStatus] | None, Query(description="Only runs in these states (repeatable).")
        ] = None,
        since: Annotated[
            IsoDateTime | None,
            Query(description="Created at or after (ISO 8601; UTC if no zone)."),
        ] = None,
        until: Annotated[
            IsoDateTime | None, Query(description="Created before (ISO 8601).")
        ] = None,
        q: Annotated[
            SearchText | None, Query(description="Case-insensitive text the goal contains.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        cursor: Annotated[
            str | None,
            Query(pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page."),
        ] = None,
    ) -> RunList:
        query = RunQuery(
            statuses=frozenset(status or ()),
            since=since,
            until=until,
            text=q or None,
            after=_cursor(cursor),
            limit=limit,
        )
        page = await history.list(tenant=caller.id, query=query)
        return RunList.of(page.runs, page.next_cursor)

    @router.get(
        "/{run_id}",
        response_model=RunView,
        summary="The run: status, plan, steps, result and usage (live, else archived)",
        responses={404: problem_doc("No such run (or another tenant's)")},
    )
    async def get_run(run_id: str, caller: Caller, history: History) -> RunView:
        state = await history.find(tenant=caller.id, run_id=run_id)
        if state is None:
            # Another tenant's run is reported exactly like a missing one.
            raise HTTPException(404, "No such run.")
        return RunView.of(state, ordered_steps(state))

    @router.get(
        "/{run_id}/timeline",
        response_model=TimelineView,
        summary="The run's steps and attempts in time: queue wait, work, agent, usage, errors",
        description="Built from the archived run events (what `pulse trace` draws). A run "
        "the archive does not hold yet is answered from its live state (`source: live`).",
        responses={404: problem_doc("No such run (or another tenant's)")},
    )
    async def get_timeline(run_id: str, caller: Caller, history: History) -> TimelineView:
        timeline = await history.timeline(tenant=caller.id, run_id=run_id)
        if timeline is None:
            raise HTTPException(404, "No such run.")
        return TimelineView.of(timeline)

    @router.post(
        "/{run_id}/cancel",
        status_code=202,
        response_model=RunView,
        summary="Cancel a run that has not ended; answers with the run as it was",
        responses={
            404: problem_doc("No such run (or another tenant's)"),
            409: problem_doc("The run has already ended"),
        },
    )
    async def cancel_run(run_id: str, caller: Caller, control: Control) -> RunView:
        # 202: the executor stops the run asynchronously; poll the run for `canceled`.
        state = await control.cancel(tenant=caller.id, run_id=run_id)
        return RunView.of(state, ordered_steps(state))

    @router.post(
        "/{run_id}/restart",
        status_code=202,
        response_model=RunView,
        summary="Run a failed or canceled run again, reusing what completed",
        responses={
            404: problem_doc("No such run (or another tenant's)"),
            409: problem_doc("The run is not failed or canceled"),
        },
    )
    async def restart_run(run_id: str, caller: Caller, control: Control) -> RunView:
        state = await control.restart(tenant=caller.id, run_id=run_id)
        return RunView.of(state, ordered_steps(state))

    return router
