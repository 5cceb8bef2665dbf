"""The gateway's whole API over the real stack: history from PostgreSQL, SSE and WebSocket
from JetStream, tools, status, usage, stored API keys, the `pulse` command, and one tenant
never seeing, streaming or canceling another's runs, todos or usage."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from pulse_client import ApiKeyStore, PulseClient
from pulse_client.cli import main
from pulse_client.sse import parse_sse
from pulse_stack.launcher import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]

KEY_A = {"Authorization": "Bearer e2e-key-a"}
KEY_B = {"Authorization": "Bearer e2e-key-b"}
TERMINAL = {"completed", "failed", "canceled", "rejected"}


async def _run(client: httpx.AsyncClient, prompt: str, headers: dict[str, str]) -> dict[str, Any]:
    created = await client.post("/v1/runs", json={"prompt": prompt}, headers=headers)
    assert created.status_code == 202, created.text
    run_id = created.json()["run_id"]
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        run: dict[str, Any] = (await client.get(f"/v1/runs/{run_id}", headers=headers)).json()
        if run["status"] in TERMINAL:
            return run
        assert asyncio.get_running_loop().time() < deadline, run
        await asyncio.sleep(0.1)


def _todos(run: dict[str, Any]) -> list[str]:
    output = run["result"]
    items = output["todos"] if isinstance(output, dict) else output
    return [str(item["text"]) for item in items]


async def test_one_tenant_never_reaches_anothers_runs_todos_or_usage(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=15) as client:
        run_a = await _run(client, 'add "secret of a" as a todo', KEY_A)
        assert run_a["status"] == "completed", run_a
        mine = await _run(client, "list all todos", KEY_A)
        theirs = await _run(client, "list all todos", KEY_B)
        assert "secret of a" in _todos(mine)
        assert "secret of a" not in _todos(theirs)

        run_id = run_a["run_id"]
        # REST: not visible, not cancelable, not restartable, not listed.
        for method, path in (
            ("GET", f"/v1/runs/{run_id}"),
            ("POST", f"/v1/runs/{run_id}/cancel"),
            ("POST", f"/v1/runs/{run_id}/restart"),
            ("GET", f"/v1/runs/{run_id}/events"),
        ):
            response = await client.request(method, path, headers=KEY_B)
            assert response.status_code == 404, (method, path, response.text)
        listed_b = (await client.get("/v1/runs?limit=100", headers=KEY_B)).json()["runs"]
        assert run_id not in {r["run_id"] for r in listed_b}
        assert theirs["run_id"] in {r["run_id"] for r in listed_b}

        # WebSocket: refused like a missing run.
        url = stack.gateway_url.replace("http", "ws", 1) + f"/v1/runs/{run_id}/ws"
        async with websockets.connect(url, additional_headers=KEY_B) as ws:
            refusal = json.loads(await asyncio.wait_for(ws.recv(), 10))
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
        assert refusal["status"] == 404
        assert ws.close_code == 4404

        # Usage: each tenant's own runs once archived.
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            usage_a = (await client.get("/v1/usage", headers=KEY_A)).json()
            usage_b = (await client.get("/v1/usage", headers=KEY_B)).json()
            listed_a = (await client.get("/v1/runs?limit=100", headers=KEY_A)).json()["runs"]
            if usage_a["runs"] >= 2 and usage_b["runs"] >= 1:
                break
            assert asyncio.get_running_loop().time() < deadline, (usage_a, usage_b)
            await asyncio.sleep(0.3)
        ids_a = {r["run_id"] for r in listed_a}
        assert {run_id, mine["run_id"]} <= ids_a
        assert theirs["run_id"] not in ids_a
        assert usage_b["tenant"] == "tenant-b"
        assert usage_b["runs"] == len(listed_b)


async def test_sse_and_websocket_follow_a_real_run(stack: Stack) -> None:
    goal = "calculate 6 * 7, then ask the llm to explain the result"
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        created = (await client.post("/v1/runs", json={"prompt": goal}, headers=KEY_A)).json()
        run_id = created["run_id"]
        ws_url = stack.gateway_url.replace("http", "ws", 1) + f"/v1/runs/{run_id}/ws"
        async with websockets.connect(ws_url, additional_headers=KEY_A) as ws:
            frames = [json.loads(raw) async for raw in ws]
        async with client.stream("GET", f"/v1/runs/{run_id}/events", headers=KEY_A) as response:
            assert response.status_code == 200
            sse = [e async for e in parse_sse(response.aiter_lines())]
    ws_types = [f["type"] for f in frames if f["type"] != "heartbeat"]
    assert ws_types[0] == "run.started"
    assert ws_types[-2:] == ["run.completed", "end"]
    assert ws_types.count("step.completed") == 2
    # The SSE stream, opened after the end, replays the same history and closes.
    assert [e.event for e in sse] == ws_types[:-1]
    assert [int(e.id or 0) for e in sse] == sorted(int(e.id or 0) for e in sse)
    llm = [json.loads(e.data) for e in sse if e.event == "step.completed"][-1]
    assert llm["usage"]["completion_tokens"] > 0


async def test_tools_status_and_stored_keys(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=15) as client:
        tools = (await client.get("/v1/tools", headers=KEY_A)).json()["tools"]
        assert {"calculator", "todo.add", "todo.list"} <= {t["name"] for t in tools}

        deadline = asyncio.get_running_loop().time() + 30
        while True:
            status = (await client.get("/v1/status", headers=KEY_A)).json()
            if status["status"] == "ok":
                break
            assert asyncio.get_running_loop().time() < deadline, status
            await asyncio.sleep(0.5)
        assert status["dependencies"] == {"nats": True, "postgres": True}
        assert {c["name"] for c in status["components"]} == {
            "planner",
            "executor",
            "agent-adapter",
            "archiver",
        }

        async with ApiKeyStore(str(stack.database_url)) as keys:
            made = await keys.create("tenant-c", name="e2e")
            stored = {"Authorization": f"Bearer {made.key}"}
            run = await _run(client, "calculate 2 + 2", stored)
            assert run["result"] == 4
            assert run["tenant"] == "tenant-c"
            await keys.revoke(made.stored.key_id)
        deadline = asyncio.get_running_loop().time() + 30
        while (await client.get("/v1/runs", headers=stored)).status_code != 401:
            assert asyncio.get_running_loop().time() < deadline, "a revoked key still works"
            await asyncio.sleep(0.5)


async def test_pulse_run_follows_the_run_live(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--url", stack.gateway_url, "--key", "e2e-key-a", "run"]
    code = await asyncio.to_thread(
        main, [*argv, "calculate 3 * 4 and ask the llm to write a haiku"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "planned: 2 steps" in out
    assert out.count(" started") >= 2
    assert "run completed: 2/2 steps" in out
    assert "status=completed" in out
    async with PulseClient(stack.gateway_url, "e2e-key-a") as client:
        newest = (await client.list_runs(limit=1))["runs"]
    assert newest[0]["prompt"] == "calculate 3 * 4 and ask the llm to write a haiku"  # type: ignore[index,call-overload]
