"""The read side against a real nats-server: SSE and WebSocket streams from PULSE_EVENTS,
the tool catalogue, component status from consumer info, the shared rate limit,
back-pressure from the planner's queue, and listing runs the archive does not have."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import nats
import pytest
import websockets
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from pulse_client.sse import ServerSentEvent, parse_sse
from pulse_contracts import RunEvent, RunRequested, RunState, RunStatus, ToolSpec, subjects
from pulse_gateway import Settings, create_app
from pulse_telemetry import setup_telemetry

pytestmark = pytest.mark.nats

KEY_A, KEY_B = "reads-key-a", "reads-key-b"
AUTH_A = {"Authorization": f"Bearer {KEY_A}"}
AUTH_B = {"Authorization": f"Bearer {KEY_B}"}
Serve = Callable[[FastAPI], AbstractAsyncContextManager[Any]]
History = Callable[[str, str], list[RunEvent]]


def _app(nats_url: str, **overrides: Any) -> FastAPI:
    settings = Settings(
        nats_url=nats_url,
        api_keys={KEY_A: "tenant-a", KEY_B: "tenant-b"},
        log_format="text",
        stream_heartbeat_s=0.5,
        **overrides,
    )
    return create_app(settings, telemetry=setup_telemetry(settings, install_global=False))


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def _put_state(
    js: JetStreamContext, run_id: str, tenant: str, status: RunStatus, seq: int
) -> None:
    kv = await js.key_value(subjects.KV_RUN_STATE)
    state = RunState(run_id=run_id, tenant=tenant, prompt="calculate 6*7", status=status, seq=seq)
    await kv.put(run_id, state.model_dump_json().encode())


async def _publish(js: JetStreamContext, events: list[RunEvent]) -> None:
    for event in events:
        await js.publish(
            subjects.run_events_subject(event.run_id),
            event.model_dump_json().encode(),
            stream=subjects.STREAM_EVENTS,
            headers={"Nats-Msg-Id": event.message_id},
        )


async def _sse(
    client: httpx.AsyncClient,
    run_id: str,
    headers: dict[str, str],
    *,
    heartbeat: asyncio.Event | None = None,
) -> list[ServerSentEvent]:
    got: list[ServerSentEvent] = []
    async with client.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")

        async def lines() -> AsyncIterator[str]:
            async for line in response.aiter_lines():
                if heartbeat is not None and line.startswith(": heartbeat"):
                    heartbeat.set()
                yield line

        async for event in parse_sse(lines()):
            got.append(event)
    return got


async def test_sse_replays_then_follows_live_and_ends_after_the_run(
    nats_url: str, js: JetStreamContext, serve: Serve, history_of: History
) -> None:
    events = history_of("run-sse", "tenant-a")
    async with serve(_app(nats_url)) as live, live.client() as client:
        await _put_state(js, "run-sse", "tenant-a", RunStatus.WORKING, 2)
        await _publish(js, events[:2])
        idle = asyncio.Event()
        streaming = asyncio.create_task(_sse(client, "run-sse", AUTH_A, heartbeat=idle))
        # The replayed part arrives, then heartbeats while nothing happens...
        await asyncio.wait_for(idle.wait(), 15)
        # ...then the live part, after which the stream closes by itself.
        await _publish(js, events[2:])
        got = await asyncio.wait_for(streaming, 15)
        assert [e.event for e in got] == [e.type for e in events]
        assert [e.id for e in got] == ["1", "2", "3", "4"]
        assert json.loads(got[2].data)["output"] == 42

        # Resuming after seq 2 gives the rest only; resuming after the end is a 204.
        await _put_state(js, "run-sse", "tenant-a", RunStatus.COMPLETED, 4)
        rest = await _sse(client, "run-sse", {**AUTH_A, "Last-Event-ID": "2"})
        assert [e.id for e in rest] == ["3", "4"]
        done = await client.get("/v1/runs/run-sse/events", headers={**AUTH_A, "Last-Event-ID": "4"})
        assert done.status_code == 204

        # Another tenant cannot stream it: exactly a missing run.
        other = await client.get("/v1/runs/run-sse/events", headers=AUTH_B)
        missing = await client.get("/v1/runs/nope/events", headers=AUTH_B)
        assert other.status_code == missing.status_code == 404
        assert other.json()["detail"] == missing.json()["detail"]


async def test_websocket_streams_the_run_and_refuses_others(
    nats_url: str, js: JetStreamContext, serve: Serve, history_of: History
) -> None:
    events = history_of("run-ws", "tenant-a")
    async with serve(_app(nats_url)) as live:
        await _put_state(js, "run-ws", "tenant-a", RunStatus.WORKING, 1)
        await _publish(js, events[:1])
        url = f"{live.ws_url}/v1/runs/run-ws/ws"
        frames: list[dict[str, Any]] = []
        async with websockets.connect(url, additional_headers=AUTH_A) as ws:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            await _publish(js, events[1:])
            async for raw in ws:
                frames.append(json.loads(raw))
            assert ws.close_code == 1000
        kinds = [f["type"] for f in frames if f["type"] != "heartbeat"]
        assert kinds == [*(e.type for e in events), "end"]
        assert frames[0]["seq"] == 1
        assert frames[0]["event"]["run_id"] == "run-ws"

        for headers, code in (
            (AUTH_B, 4404),
            ({"Authorization": "Bearer wrong"}, 4401),
            ({}, 4401),
        ):
            async with websockets.connect(url, additional_headers=headers) as ws:
                refusal = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert refusal["type"] == "error"
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 10)
                assert ws.close_code == code
        # Browsers cannot set headers on a WebSocket: the key may come as a query parameter.
        async with websockets.connect(f"{url}?access_token={KEY_A}&after_seq=3") as ws:
            later = [json.loads(raw) async for raw in ws]
        assert [f["type"] for f in later if f["type"] != "heartbeat"] == ["run.completed", "end"]


async def test_tools_come_from_the_catalogue_bucket(
    nats_url: str, js: JetStreamContext, serve: Serve
) -> None:
    async with serve(_app(nats_url)) as live, live.client() as client:
        assert (await client.get("/v1/tools", headers=AUTH_A)).json() == {"tools": []}
        kv = await js.create_key_value(bucket=subjects.KV_TOOLS)
        for spec in (
            ToolSpec(name="todo.add", description="adds", input_schema={"type": "object"}),
            ToolSpec(name="calculator", description="computes"),
        ):
            await kv.put(spec.name, spec.model_dump_json().encode())
        await kv.put("broken", b"{not json")
        await asyncio.sleep(5.1)  # past the catalogue's cache
        tools = (await client.get("/v1/tools", headers=AUTH_A)).json()["tools"]
        assert [t["name"] for t in tools] == ["calculator", "todo.add"]
        assert tools[1]["input_schema"] == {"type": "object"}
        assert (await client.get("/v1/tools")).status_code == 401


async def _durable(js: JetStreamContext, stream: str, durable: str, subject: str) -> None:
    await js.add_consumer(
        stream, ConsumerConfig(durable_name=durable, filter_subject=subject, ack_wait=30)
    )


async def test_status_reports_each_component_from_its_consumers(
    nats_url: str, js: JetStreamContext, serve: Serve
) -> None:
    async with serve(_app(nats_url)) as live, live.client() as client:
        await _durable(js, subjects.STREAM_RUNS, subjects.Durable.PLANNER, subjects.RUNS_REQUESTED)
        archiver_sub = await js.pull_subscribe(
            subjects.RUN_EVENTS_WILDCARD,
            durable=subjects.Durable.ARCHIVER,
            stream=subjects.STREAM_EVENTS,
        )
        fetching = asyncio.create_task(archiver_sub.fetch(1, timeout=10))  # a waiting pull
        for n in range(3):
            await js.publish(
                subjects.RUNS_REQUESTED,
                b"{}",
                stream=subjects.STREAM_RUNS,
                headers={"Nats-Msg-Id": f"m{n}"},
            )
        await asyncio.sleep(0.3)
        body = (await client.get("/v1/status", headers=AUTH_A)).json()
        fetching.cancel()
    components = {c["name"]: c for c in body["components"]}
    assert body["dependencies"] == {"nats": True}
    assert body["status"] == "degraded"
    planner = components["planner"]
    assert planner["health"] == "down"  # 3 waiting and nobody pulling
    assert planner["pending"] == 3
    assert components["archiver"]["health"] == "up"
    assert components["archiver"]["consumers"][0]["num_waiting"] >= 1
    assert components["executor"]["health"] == "missing"
    assert {c["durable"] for c in components["executor"]["consumers"]} >= {
        "executor-plans",
        "executor-results",
    }


async def test_runs_are_refused_while_the_planner_queue_is_too_long(
    nats_url: str, js: JetStreamContext, serve: Serve
) -> None:
    app = _app(nats_url, max_run_queue=2, queue_check_s=0.1, overload_retry_after_s=7)
    async with serve(app) as live, live.client() as client:
        await _durable(js, subjects.STREAM_RUNS, subjects.Durable.PLANNER, subjects.RUNS_REQUESTED)
        accepted = [
            await client.post("/v1/runs", json={"prompt": f"p{n}"}, headers=AUTH_A)
            for n in range(3)
        ]
        assert [r.status_code for r in accepted] == [202, 202, 202]
        await asyncio.sleep(0.2)
        refused = await client.post("/v1/runs", json={"prompt": "one more"}, headers=AUTH_A)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "7"
        assert refused.json()["type"] == "urn:pulse:problem:overloaded"
        # Reads go on regardless.
        assert (
            await client.get(f"/v1/runs/{accepted[0].json()['run_id']}", headers=AUTH_A)
        ).status_code == 200


async def test_the_rate_limit_is_shared_by_every_replica(nats_url: str, serve: Serve) -> None:
    limits = {"rate_limit_per_s": 0.01, "rate_limit_burst": 3}
    async with (
        serve(_app(nats_url, **limits)) as one,
        serve(_app(nats_url, **limits)) as two,
        one.client() as first,
        two.client() as second,
    ):
        answers = [
            await (first if n % 2 else second).get("/v1/tools", headers=AUTH_A) for n in range(4)
        ]
        other_key = await first.get("/v1/tools", headers=AUTH_B)
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[-1].json()["type"] == "urn:pulse:problem:rate-limited"
    assert other_key.status_code == 200  # per key, not per gateway


async def test_listing_without_an_archive_shows_recent_runs_of_the_caller_only(
    nats_url: str, js: JetStreamContext, serve: Serve
) -> None:
    async with serve(_app(nats_url)) as live, live.client() as client:
        mine = [
            (await client.post("/v1/runs", json={"prompt": f"calc {n}"}, headers=AUTH_A)).json()[
                "run_id"
            ]
            for n in range(3)
        ]
        theirs = (await client.post("/v1/runs", json={"prompt": "calc b"}, headers=AUTH_B)).json()[
            "run_id"
        ]
        # A run another system requested on NATS (its state written as the executor would).
        request = RunRequested(
            message_id="run:from-nats:requested",
            run_id="from-nats",
            tenant="tenant-a",
            prompt="calc nats",
        )
        await _put_state(js, "from-nats", "tenant-a", RunStatus.WORKING, 1)
        await js.publish(
            subjects.RUNS_REQUESTED, request.model_dump_json().encode(), stream=subjects.STREAM_RUNS
        )

        async def listed() -> list[str]:
            page = (await client.get("/v1/runs", headers=AUTH_A)).json()
            return [r["run_id"] for r in page["runs"]]

        deadline = asyncio.get_running_loop().time() + 10
        while "from-nats" not in await listed():
            assert asyncio.get_running_loop().time() < deadline, (
                "the NATS-requested run is not listed"
            )
            await asyncio.sleep(0.1)
        ids = await listed()
        assert set(ids) == {*mine, "from-nats"}
        assert theirs not in ids
        working = (await client.get("/v1/runs?status=working", headers=AUTH_A)).json()["runs"]
        assert [r["run_id"] for r in working] == ["from-nats"]
        page = (await client.get("/v1/runs?limit=2", headers=AUTH_A)).json()
        rest = (
            await client.get(f"/v1/runs?limit=2&cursor={page['next_cursor']}", headers=AUTH_A)
        ).json()
        assert len(page["runs"]) == 2
        assert len(rest["runs"]) == 2
        assert rest["next_cursor"] is None
        assert {r["run_id"] for r in page["runs"] + rest["runs"]} == set(ids)
