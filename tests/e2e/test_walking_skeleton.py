"""End to end over real processes: HTTP in, five services on JetStream, PostgreSQL out.

The todo goal must compute 15, store it as a todo, list it; the archive must hold the run,
its steps and its events; and one trace must span all five services.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from pulse_contracts import subjects
from pulse_stack.launcher import Stack
from pulse_stack.otlp_receiver import OtlpReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]

KEY_A = {"Authorization": "Bearer e2e-key-a"}
KEY_B = {"Authorization": "Bearer e2e-key-b"}
TODO_GOAL = "calculate 5 * 3, add the result as a todo, then list all todos"
SERVICES = {"gateway", "planner", "executor", "agent-adapter", "archiver"}


async def _submit(
    client: httpx.AsyncClient, prompt: str, headers: dict[str, str] = KEY_A, **extra: Any
) -> dict[str, Any]:
    response = await client.post("/v1/runs", json={"prompt": prompt, **extra}, headers=headers)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def _wait(
    client: httpx.AsyncClient, run_id: str, headers: dict[str, str] = KEY_A, timeout_s: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await client.get(f"/v1/runs/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        if run["status"] in {"completed", "failed", "canceled", "rejected"}:
            return run
        assert asyncio.get_running_loop().time() < deadline, f"run stuck: {run}"
        await asyncio.sleep(0.1)


def _jsonb(value: Any) -> Any:
    """asyncpg returns JSONB as text unless a codec is registered."""
    return json.loads(value) if isinstance(value, str) else value


def _todo_texts(output: Any) -> list[str]:
    items = output["todos"] if isinstance(output, dict) else output
    return [str(item["text"]) for item in items]


async def _archived(
    stack: Stack, run_id: str
) -> tuple[asyncpg.Record | None, list[asyncpg.Record], list[asyncpg.Record]]:
    conn = await asyncpg.connect(str(stack.database_url).replace("+asyncpg", ""))
    try:
        run = await conn.fetchrow("SELECT * FROM runs WHERE run_id = $1", run_id)
        steps = await conn.fetch("SELECT * FROM steps WHERE run_id = $1 ORDER BY step_id", run_id)
        events = await conn.fetch("SELECT * FROM events WHERE run_id = $1 ORDER BY seq", run_id)
        return run, steps, events
    finally:
        await conn.close()


async def test_todo_goal_end_to_end(stack: Stack, otlp: OtlpReceiver) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        created = await _submit(client, TODO_GOAL)
        run = await _wait(client, created["run_id"])

    assert run["status"] == "completed", run
    steps = {s["step_id"]: s for s in run["steps"]}
    assert [s["tool"] for s in run["steps"]] == ["calculator", "todo.add", "todo.list"]
    assert steps["s1"]["output"] == 15
    assert steps["s2"]["output"]["text"] == "15"
    assert "15" in _todo_texts(steps["s3"]["output"])
    assert "15" in _todo_texts(run["result"])
    assert all(s["status"] == "completed" and s["attempt"] == 1 for s in run["steps"])
    assert run["trace_id"] == created["trace_id"]

    # The archive: one run row with the trace id, one row per step, each event once.
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        archived_run, archived_steps, events = await _archived(stack, run["run_id"])
        if archived_run is not None and archived_run["status"] == "completed" and len(events) >= 8:
            break
        assert asyncio.get_running_loop().time() < deadline, (archived_run, events)
        await asyncio.sleep(0.2)
    assert archived_run["trace_id"] == created["trace_id"]
    assert archived_run["tenant"] == "tenant-a"
    assert [r["status"] for r in archived_steps] == ["completed"] * 3
    assert _jsonb(archived_steps[0]["output"]) == 15
    kinds = [e["type"] for e in events]
    assert kinds.count("step.completed") == 3
    assert kinds.count("step.dispatched") == 3
    assert kinds[0] == "run.started"
    assert kinds[-1] == "run.completed"
    assert len({e["event_id"] for e in events}) == len(events)

    # One trace across all five services, every span linked to its parent.
    spans = await asyncio.to_thread(otlp.wait_for_services, created["trace_id"], SERVICES, 30.0)
    assert {s.service for s in spans} >= SERVICES, {s.service for s in spans}
    # Five exporters send in batches: a parent can arrive after its children.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        spans = otlp.trace(created["trace_id"])
        ids = {s.span_id for s in spans}
        orphans = [s for s in spans if s.parent_span_id is not None and s.parent_span_id not in ids]
        if not orphans or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.25)
    roots = [s for s in spans if s.parent_span_id is None]
    assert [r.service for r in roots] == ["gateway"], roots
    assert not orphans, orphans


async def test_unknown_goal_is_rejected_with_a_reason(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        created = await _submit(client, "make me a sandwich")
        run = await _wait(client, created["run_id"])
    assert run["status"] == "rejected"
    assert run["error"]["code"] == "planning_failed"
    assert "sandwich" in run["error"]["message"]


async def test_malformed_body_is_a_problem(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        response = await client.post(
            "/v1/runs", content=b"{not json", headers={**KEY_A, "Content-Type": "application/json"}
        )
        wrong_type = await client.post("/v1/runs", json={"prompt": 42}, headers=KEY_A)
    for r in (response, wrong_type):
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 422


async def test_poison_message_goes_to_the_dlq_and_the_planner_carries_on(stack: Stack) -> None:
    nc = await nats.connect(str(stack.nats_url))
    try:
        js = nc.jetstream()
        await js.publish(
            subjects.RUNS_REQUESTED,
            b'{"this is": "not a RunRequested"}',
            stream=subjects.STREAM_RUNS,
        )
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                letter = await js.get_last_msg(
                    subjects.STREAM_DLQ, subjects.dlq_subject(subjects.Durable.PLANNER)
                )
                break
            except nats.js.errors.NotFoundError:
                assert asyncio.get_running_loop().time() < deadline, "no dead letter"
                await asyncio.sleep(0.2)
    finally:
        await nc.close()
    body = json.loads(letter.data)
    assert body["original_subject"] == subjects.RUNS_REQUESTED
    assert body["error"]["code"] == "invalid_message"
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        run = await _wait(client, (await _submit(client, "calculate 1 + 1"))["run_id"])
    assert run["status"] == "completed"
    assert run["result"] == 2


async def test_idempotency_key_and_tenant_isolation(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        first = await _submit(client, "calculate 2 * 21", idempotency_key="order-42")
        again = await _submit(client, "calculate 2 * 21", idempotency_key="order-42")
        other_tenant = await client.get(f"/v1/runs/{first['run_id']}", headers=KEY_B)
        run = await _wait(client, first["run_id"])
    assert again["run_id"] == first["run_id"]
    assert other_tenant.status_code == 404
    assert run["result"] == 42
