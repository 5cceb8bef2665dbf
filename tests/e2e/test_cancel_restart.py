"""Cancel and restart end to end: HTTP in, the running LLM call stopped, the run resumed.

Its own stack, whose offline LLM takes a few seconds per call, so a step is reliably in
flight when the cancel arrives.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_stack.launcher import Stack
from pulse_stack.testing import NatsEndpoint, PostgresEndpoint, wipe_pulse_streams

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]

KEY_A = {"Authorization": "Bearer e2e-key-a"}
KEY_B = {"Authorization": "Bearer e2e-key-b"}
GOAL = "ask the llm to explain why caches need invalidation"
LLM_LATENCY_MS = 4000


async def _create_database(admin_dsn: str) -> str:
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


@pytest.fixture(scope="module")
def slow_stack(
    nats_server: NatsEndpoint,
    postgres_server: PostgresEndpoint,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    asyncio.run(wipe_pulse_streams(nats_server.url))
    database = asyncio.run(_create_database(postgres_server.admin_dsn))
    stack = Stack(
        state_dir=Path(tmp_path_factory.mktemp("slow-stack")),
        nats_url=nats_server.url,
        database_url=postgres_server.url(database),
        api_keys="e2e-key-a=tenant-a,e2e-key-b=tenant-b",
        gateway_port=0,
        extra_env={"PULSE_OFFLINE_LATENCY_MS": str(LLM_LATENCY_MS)},
    )
    with stack:
        yield stack


async def _run(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/runs/{run_id}", headers=KEY_A)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _wait_for(
    client: httpx.AsyncClient, run_id: str, status: str, timeout_s: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        run = await _run(client, run_id)
        if run["status"] == status:
            return run
        assert asyncio.get_running_loop().time() < deadline, f"not {status}: {run}"
        await asyncio.sleep(0.1)


async def _events(stack: Stack, run_id: str) -> list[str]:
    conn = await asyncpg.connect(str(stack.database_url).replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT type FROM events WHERE run_id = $1 ORDER BY seq", run_id)
    finally:
        await conn.close()
    return [r["type"] for r in rows]


async def _llm_call_in_flight(adapter_url: str, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with httpx.AsyncClient(base_url=adapter_url, timeout=5) as adapter:
        while True:
            scraped = (await adapter.get("/metrics")).text
            held = [
                float(line.rsplit(" ", 1)[1])
                for line in scraped.splitlines()
                if line.startswith("pulse_llm_in_flight{")
            ]
            if sum(held) >= 1:
                return
            assert asyncio.get_running_loop().time() < deadline, "no LLM call started"
            await asyncio.sleep(0.05)


async def test_cancel_stops_the_llm_call_and_restart_finishes_the_run(slow_stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=slow_stack.gateway_url, timeout=10) as client:
        created = await client.post("/v1/runs", json={"prompt": GOAL}, headers=KEY_A)
        assert created.status_code == 202, created.text
        run_id = created.json()["run_id"]
        deadline = asyncio.get_running_loop().time() + 30
        while [s["status"] for s in (await _run(client, run_id))["steps"]] != ["dispatched"]:
            assert asyncio.get_running_loop().time() < deadline, "the step never went out"
            await asyncio.sleep(0.05)
        # "dispatched" is the executor's word; the call to stop is the one the adapter holds.
        await _llm_call_in_flight(slow_stack.service("agent-adapter").url)

        assert (await client.post(f"/v1/runs/{run_id}/cancel", headers=KEY_B)).status_code == 404
        assert (await client.post(f"/v1/runs/{run_id}/restart", headers=KEY_A)).status_code == 409
        response = await client.post(f"/v1/runs/{run_id}/cancel", headers=KEY_A)
        assert response.status_code == 202, response.text
        assert response.json()["run_id"] == run_id
        canceled = await _wait_for(client, run_id, "canceled", timeout_s=30)
        [step] = canceled["steps"]
        assert (step["status"], step["attempt"], step["error"]["code"]) == (
            "canceled",
            1,
            "canceled",
        )
        assert canceled["error"]["code"] == "canceled"

        log = slow_stack.service("agent-adapter").proc.log_path
        deadline = asyncio.get_running_loop().time() + 20
        while "stopped on request" not in log.read_text():
            assert asyncio.get_running_loop().time() < deadline, "the LLM call was not stopped"
            await asyncio.sleep(0.1)

        assert (await client.post(f"/v1/runs/{run_id}/cancel", headers=KEY_A)).status_code == 409
        response = await client.post(f"/v1/runs/{run_id}/restart", headers=KEY_A)
        assert response.status_code == 202, response.text
        done = await _wait_for(client, run_id, "completed", timeout_s=60)
        [step] = done["steps"]
        assert (step["status"], step["attempt"]) == ("completed", 2)
        assert isinstance(done["result"], str)
        assert done["error"] is None

    deadline = asyncio.get_running_loop().time() + 20
    while (kinds := await _events(slow_stack, run_id))[-1:] != ["run.completed"]:
        assert asyncio.get_running_loop().time() < deadline, kinds
        await asyncio.sleep(0.2)
    assert kinds == [
        "run.started",
        "step.dispatched",
        "step.canceled",
        "run.canceled",
        "run.restarted",
        "step.dispatched",
        "step.completed",
        "run.completed",
    ]
