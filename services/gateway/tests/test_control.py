"""`POST /v1/runs/{id}/cancel` and `/restart` over the in-memory adapters."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from pulse_contracts import (
    CancelRun,
    Plan,
    RestartRun,
    RunState,
    RunStatus,
    StepState,
    StepStatus,
)
from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import (
    InMemoryRunControlPublisher,
    InMemoryRunPublisher,
    InMemoryRunStore,
)
from pulse_gateway.domain import cancel_command, may_cancel, may_restart, restart_command
from pulse_telemetry import Telemetry

PLAN = Plan.model_validate({"steps": [{"id": "a", "tool": "calculator"}]})


def run(status: RunStatus, *, tenant: str = "tenant-a", seq: int = 4) -> RunState:
    return RunState(
        run_id="r1",
        tenant=tenant,
        prompt="calculate 1 + 1",
        status=status,
        plan=PLAN if status is not RunStatus.SUBMITTED else None,
        steps={"a": StepState(step_id="a", tool="calculator", status=StepStatus.DISPATCHED)},
        seq=seq,
    )


@pytest.fixture
def control() -> InMemoryRunControlPublisher:
    return InMemoryRunControlPublisher()


@pytest.fixture
def app(
    settings: Settings,
    telemetry: Telemetry,
    store: InMemoryRunStore,
    publisher: InMemoryRunPublisher,
    control: InMemoryRunControlPublisher,
) -> FastAPI:
    return create_app(
        settings, telemetry=telemetry, store=store, publisher=publisher, control=control
    )


@pytest.mark.parametrize("status", [RunStatus.SUBMITTED, RunStatus.WORKING])
async def test_cancel_asks_the_executor_and_answers_with_the_run(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    control: InMemoryRunControlPublisher,
    auth_a: dict[str, str],
    status: RunStatus,
) -> None:
    store.runs["r1"] = run(status)
    response = await client.post("/v1/runs/r1/cancel", headers=auth_a)
    assert response.status_code == 202, response.text
    view = response.json()
    assert (view["run_id"], view["status"]) == ("r1", status.value)
    [command] = control.published
    assert isinstance(command, CancelRun)
    assert (command.message_id, command.run_id, command.tenant) == (
        "run:r1:cancel:4",
        "r1",
        "tenant-a",
    )
    again = await client.post("/v1/runs/r1/cancel", headers=auth_a)
    assert again.status_code == 202
    assert len(control.published) == 1, "the same state seen: the same command, dropped"


@pytest.mark.parametrize(
    "status", [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.REJECTED]
)
async def test_an_ended_run_cannot_be_canceled(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    control: InMemoryRunControlPublisher,
    auth_a: dict[str, str],
    status: RunStatus,
) -> None:
    store.runs["r1"] = run(status)
    response = await client.post("/v1/runs/r1/cancel", headers=auth_a)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:pulse:problem:conflict"
    assert status.value in problem["detail"]
    assert control.published == []


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.CANCELED])
async def test_restart_of_a_failed_or_canceled_run(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    control: InMemoryRunControlPublisher,
    auth_a: dict[str, str],
    status: RunStatus,
) -> None:
    store.runs["r1"] = run(status, seq=9)
    response = await client.post("/v1/runs/r1/restart", headers=auth_a)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == status.value
    [command] = control.published
    assert isinstance(command, RestartRun)
    assert (command.message_id, command.if_seq) == ("run:r1:restart:9", 9)


@pytest.mark.parametrize(
    "status",
    [RunStatus.SUBMITTED, RunStatus.WORKING, RunStatus.COMPLETED, RunStatus.REJECTED],
)
async def test_only_failed_or_canceled_runs_restart(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    control: InMemoryRunControlPublisher,
    auth_a: dict[str, str],
    status: RunStatus,
) -> None:
    store.runs["r1"] = run(status)
    response = await client.post("/v1/runs/r1/restart", headers=auth_a)
    assert response.status_code == 409
    assert response.json()["type"] == "urn:pulse:problem:conflict"
    assert control.published == []


@pytest.mark.parametrize("action", ["cancel", "restart"])
async def test_another_tenants_run_is_not_found(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    control: InMemoryRunControlPublisher,
    auth_a: dict[str, str],
    auth_b: dict[str, str],
    action: str,
) -> None:
    store.runs["r1"] = run(RunStatus.FAILED)
    theirs = await client.post(f"/v1/runs/r1/{action}", headers=auth_b)
    missing = await client.post(f"/v1/runs/nope/{action}", headers=auth_a)
    junk = await client.post(f"/v1/runs/a.b/{action}", headers=auth_a)
    for response in (theirs, missing, junk):
        assert response.status_code == 404
        assert response.json()["type"] == "urn:pulse:problem:not-found"
    assert theirs.json()["detail"] == missing.json()["detail"]
    assert (await client.post(f"/v1/runs/r1/{action}")).status_code == 401
    assert control.published == []


async def test_an_unreachable_bus_is_a_503(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    control: InMemoryRunControlPublisher,
    auth_a: dict[str, str],
) -> None:
    store.runs["r1"] = run(RunStatus.WORKING)
    control.available = False
    response = await client.post("/v1/runs/r1/cancel", headers=auth_a)
    assert response.status_code == 503
    assert "Retry-After" in response.headers


def test_the_rules_and_commands_are_pure() -> None:
    assert may_cancel(run(RunStatus.WORKING))
    assert not may_cancel(run(RunStatus.COMPLETED))
    assert may_restart(run(RunStatus.CANCELED))
    assert not may_restart(run(RunStatus.CANCELED).model_copy(update={"plan": None}))
    assert cancel_command(run(RunStatus.WORKING, seq=2)).message_id == "run:r1:cancel:2"
    assert restart_command(run(RunStatus.FAILED, seq=3)).if_seq == 3


def test_the_default_app_takes_commands_in_memory(settings: Settings, telemetry: Telemetry) -> None:
    app = create_app(
        settings, telemetry=telemetry, store=InMemoryRunStore(), publisher=InMemoryRunPublisher()
    )
    assert app.state.gateway.control is not None
    paths = app.openapi()["paths"]
    assert "/v1/runs/{run_id}/cancel" in paths
    assert "/v1/runs/{run_id}/restart" in paths
