"""Large outputs end to end: a step whose output is far above the 256 KiB default goes
through the object store, the next steps consume it (passed on by reference, and embedded
in a string, which the executor resolves), the run completes, and PostgreSQL holds every
value in full."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_contracts import subjects
from pulse_stack.launcher import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]

KEY_A = {"Authorization": "Bearer e2e-key-a"}
# s1: 300,000 characters; s2: s1 twice, passed by reference; s3: s2 embedded in a string.
GOAL = 'repeat "ab" 150000 times, then repeat the result 2 times and repeat "the result!" 1 times'
S1 = "ab" * 150_000
S2 = S1 * 2
S3 = S2 + "!"


async def _wait(client: httpx.AsyncClient, run_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await client.get(f"/v1/runs/{run_id}", headers=KEY_A)
        assert response.status_code == 200, response.text[:2000]
        run: dict[str, Any] = response.json()
        if run["status"] in {"completed", "failed", "canceled", "rejected"}:
            return run
        assert asyncio.get_running_loop().time() < deadline, f"run stuck: {run['status']}"
        await asyncio.sleep(0.2)


def _jsonb(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _archived(stack: Stack, run_id: str, timeout_s: float = 60) -> dict[str, Any]:
    conn = await asyncpg.connect(str(stack.database_url).replace("+asyncpg", ""))
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            run = await conn.fetchrow("SELECT status, result FROM runs WHERE run_id = $1", run_id)
            if run is not None and run["status"] == "completed":
                break
            assert asyncio.get_running_loop().time() < deadline, "run not archived"
            await asyncio.sleep(0.2)
        steps = await conn.fetch(
            "SELECT step_id, input, output FROM steps WHERE run_id = $1 ORDER BY step_id", run_id
        )
        payload = await conn.fetchval(
            "SELECT payload FROM events WHERE run_id = $1 AND type = 'step.completed'"
            " AND payload->>'step_id' = 's1'",
            run_id,
        )
        return {
            "result": _jsonb(run["result"]),
            "steps": {
                s["step_id"]: {"input": _jsonb(s["input"]), "output": _jsonb(s["output"])}
                for s in steps
            },
            "s1_event": _jsonb(payload),
        }
    finally:
        await conn.close()


async def test_a_large_output_flows_through_the_object_store_into_the_archive(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        created = await client.post("/v1/runs", json={"prompt": GOAL}, headers=KEY_A)
        assert created.status_code == 202, created.text
        run_id = created.json()["run_id"]
        run = await _wait(client, run_id)

    assert run["status"] == "completed", run.get("error")
    steps = {s["step_id"]: s for s in run["steps"]}
    assert [steps[s]["status"] for s in ("s1", "s2", "s3")] == ["completed"] * 3
    for sid, value in (("s1", S1), ("s2", S2), ("s3", S3)):
        # The run document keeps a reference with the size, not the value.
        assert steps[sid]["output"] is None
        ref = steps[sid]["output_ref"]
        assert ref["bucket"] == subjects.OBJ_OUTPUTS
        assert ref["size"] == len(value) + 2  # a JSON string: the text and its quotes
    assert run["result"] is None
    assert run["result_refs"]["s3"]["size"] == len(S3) + 2

    archived = await _archived(stack, run_id)
    assert archived["steps"]["s1"]["output"] == S1
    assert archived["steps"]["s2"]["output"] == S2
    assert archived["steps"]["s3"]["output"] == S3
    assert archived["steps"]["s2"]["input"] == {"text": S1, "times": 2}
    assert archived["steps"]["s3"]["input"] == {"text": S2 + "!", "times": 1}
    assert archived["result"] == S3
    # The events table keeps the event as it travelled: with the reference.
    assert archived["s1_event"]["output"] is None
    assert archived["s1_event"]["output_ref"]["size"] == len(S1) + 2
