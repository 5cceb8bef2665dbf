"""The run endpoints: thin translations between HTTP and `RunIntake` / `RunControl`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from pulse_gateway.api.deps import Control, Intake, Tenant
from pulse_gateway.api.models import CreateRun, RunCreated, RunView
from pulse_gateway.api.problems import PROBLEM_RESPONSES, problem_doc
from pulse_gateway.domain import ordered_steps

__all__ = ["runs_router"]


def runs_router() -> APIRouter:
    router = APIRouter(prefix="/v1/runs", tags=["runs"], responses=PROBLEM_RESPONSES)

    @router.post(
        "",
        status_code=202,
        response_model=RunCreated,
        summary="Submit a goal; it is planned and executed asynchronously",
    )
    async def create_run(
        body: CreateRun, tenant: Tenant, intake: Intake, response: Response
    ) -> RunCreated:
        submission = await intake.submit(
            tenant=tenant,
            prompt=body.prompt,
            metadata=body.metadata,
            idempotency_key=body.idempotency_key,
        )
        created = RunCreated.of(submission.state)
        response.headers["Location"] = created.links.self_
        return created

    @router.get(
        "/{run_id}",
        response_model=RunView,
        summary="The run's live state: status, plan, steps, result and usage",
        responses={404: problem_doc("No such run (or another tenant's)")},
    )
    async def get_run(run_id: str, tenant: Tenant, intake: Intake) -> RunView:
        state = await intake.find(tenant=tenant, run_id=run_id)
        if state is None:
            # Another tenant's run is reported exactly like a missing one.
            raise HTTPException(404, "No such run.")
        return RunView.of(state, ordered_steps(state))

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
    async def cancel_run(run_id: str, tenant: Tenant, control: Control) -> RunView:
        # 202: the executor stops the run asynchronously; poll the run for `canceled`.
        state = await control.cancel(tenant=tenant, run_id=run_id)
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
    async def restart_run(run_id: str, tenant: Tenant, control: Control) -> RunView:
        state = await control.restart(tenant=tenant, run_id=run_id)
        return RunView.of(state, ordered_steps(state))

    return router
