"""Listing, usage, tools, status, SSE and the protections, over in-memory backends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pulse_contracts import RunEvent, RunState, RunStatus, ToolSpec, Usage
from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import (
    InMemoryBusInspector,
    InMemoryRateLimiter,
    InMemoryRunArchive,
    InMemoryRunEvents,
    InMemoryRunPublisher,
    InMemoryRunQueue,
    InMemoryRunStore,
    InMemoryToolCatalogue,
)
from pulse_gateway.domain import ConsumerLag
from pulse_gateway.wiring import Backends
from pulse_telemetry import Telemetry, setup_telemetry

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _fresh(settings: Settings, **kwargs: Any) -> FastAPI:
    """Another app in the same test: its own metrics registry."""
    return create_app(settings, telemetry=setup_telemetry(settings, install_global=False), **kwargs)


PROBLEM = "application/problem+json"


def _seed(store: InMemoryRunStore, tenant: str, n: int, **fields: Any) -> RunState:
    state = RunState(
        run_id=f"{tenant}-{n:03d}",
        tenant=tenant,
        prompt=f"calculate {n} for {tenant}",
        created_at=T0 + timedelta(minutes=n),
        usage=Usage(prompt_tokens=n, completion_tokens=1, cost_usd=0.5),
        **fields,
    )
    store.runs[state.run_id] = state
    return state


async def test_list_pages_filters_and_never_shows_another_tenant(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    auth_a: dict[str, str],
    auth_b: dict[str, str],
) -> None:
    for n in range(7):
        _seed(store, "tenant-a", n, status=RunStatus.FAILED if n % 3 == 0 else RunStatus.COMPLETED)
    _seed(store, "tenant-b", 99)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/runs", params=params, headers=auth_a)).json()
        seen += [r["run_id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"tenant-a-{n:03d}" for n in range(6, -1, -1)]

    failed = await client.get("/v1/runs", params={"status": "failed"}, headers=auth_a)
    assert [r["run_id"] for r in failed.json()["runs"]] == [
        "tenant-a-006",
        "tenant-a-003",
        "tenant-a-000",
    ]
    both = await client.get("/v1/runs?status=failed&status=completed&limit=100", headers=auth_a)
    assert len(both.json()["runs"]) == 7
    window = await client.get(
        "/v1/runs",
        params={"since": (T0 + timedelta(minutes=2)).isoformat(), "until": "2025-03-01T00:04:00"},
        headers=auth_a,
    )
    assert [r["run_id"] for r in window.json()["runs"]] == ["tenant-a-003", "tenant-a-002"]
    text = await client.get("/v1/runs", params={"q": "CALCULATE 5"}, headers=auth_a)
    assert [r["run_id"] for r in text.json()["runs"]] == ["tenant-a-005"]

    theirs = (await client.get("/v1/runs", headers=auth_b)).json()["runs"]
    assert [r["run_id"] for r in theirs] == ["tenant-b-099"]
    assert (await client.get("/v1/runs/tenant-a-001", headers=auth_b)).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "status=done",
        "since=yesterday",
        "cursor=not-ours",
        "q=" + "x" * 201,
        "q=%00",
    ],
)
async def test_bad_list_queries_are_422_problems(
    client: httpx.AsyncClient, auth_a: dict[str, str], query: str
) -> None:
    response = await client.get(f"/v1/runs?{query}", headers=auth_a)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["loc"][0] == "query"


async def test_a_run_the_live_store_lost_is_read_from_the_archive(
    client: httpx.AsyncClient, store: InMemoryRunStore, backends: Backends, auth_a: dict[str, str]
) -> None:
    archived = _seed(store, "tenant-a", 1, status=RunStatus.COMPLETED)
    archive = InMemoryRunStore()
    archive.runs[archived.run_id] = archived
    backends.archive = InMemoryRunArchive(archive)
    del store.runs[archived.run_id]
    app = _fresh(Settings(api_keys={"k": "tenant-a"}), backends=backends)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        got = await c.get(f"/v1/runs/{archived.run_id}", headers={"Authorization": "Bearer k"})
    assert got.status_code == 200
    assert got.json()["status"] == "completed"


async def test_usage_is_the_callers_own(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    auth_a: dict[str, str],
    auth_b: dict[str, str],
) -> None:
    for n in (1, 2, 3):
        _seed(store, "tenant-a", n, status=RunStatus.COMPLETED)
    _seed(store, "tenant-b", 50, status=RunStatus.FAILED)
    mine = (await client.get("/v1/usage", headers=auth_a)).json()
    assert (mine["tenant"], mine["runs"], mine["prompt_tokens"], mine["cost_usd"]) == (
        "tenant-a",
        3,
        6,
        1.5,
    )
    assert mine["by_status"] == {"completed": 3}
    since = (await client.get("/v1/usage?since=2025-03-01T00:02:00Z", headers=auth_a)).json()
    assert since["runs"] == 2
    theirs = (await client.get("/v1/usage", headers=auth_b)).json()
    assert (theirs["runs"], theirs["prompt_tokens"]) == (1, 50)


async def test_tools_and_status(
    client: httpx.AsyncClient, backends: Backends, auth_a: dict[str, str]
) -> None:
    assert isinstance(backends.tools, InMemoryToolCatalogue)
    backends.tools.specs.append(ToolSpec(name="calculator", description="math"))
    tools = (await client.get("/v1/tools", headers=auth_a)).json()["tools"]
    assert [(t["name"], t["version"]) for t in tools] == [("calculator", "1.0.0")]

    assert isinstance(backends.bus, InMemoryBusInspector)
    backends.bus.lags = [
        ConsumerLag("PULSE_RUNS", "planner", num_waiting=1),
        ConsumerLag("PULSE_TASKS", "agent-adapter", num_pending=4),
    ]
    status = (await client.get("/v1/status", headers=auth_a)).json()
    assert status["status"] == "degraded"
    assert [(c["name"], c["health"], c["pending"]) for c in status["components"]] == [
        ("agent-adapter", "down", 4),
        ("planner", "up", 0),
    ]
    backends.bus.lags = backends.bus.lags[:1]
    assert (await client.get("/v1/status", headers=auth_a)).json()["status"] == "ok"
    assert (await client.get("/v1/status")).status_code == 401


async def test_the_rate_limit_is_a_429_with_retry_after(
    settings: Settings,
    telemetry: Telemetry,
    backends: Backends,
    auth_a: dict[str, str],
    auth_b: dict[str, str],
) -> None:
    backends.limiter = InMemoryRateLimiter(rate=0.5, burst=2)
    app = _fresh(settings, backends=backends)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        codes = [(await client.get("/v1/runs", headers=auth_a)).status_code for _ in range(3)]
        limited = await client.get("/v1/runs", headers=auth_a)
        other = await client.get("/v1/runs", headers=auth_b)
        unauthenticated = await client.get("/v1/runs")
    assert codes == [200, 200, 429]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.headers["content-type"] == PROBLEM
    assert other.status_code == 200
    assert unauthenticated.status_code == 401  # refused before spending anything


async def test_a_long_run_queue_turns_new_runs_away(
    settings: Settings, telemetry: Telemetry, backends: Backends, auth_a: dict[str, str]
) -> None:
    backends.queue = InMemoryRunQueue(depth=settings.max_run_queue + 1)
    app = _fresh(settings, backends=backends)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        refused = await client.post("/v1/runs", json={"prompt": "p"}, headers=auth_a)
        listed = await client.get("/v1/runs", headers=auth_a)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(settings.overload_retry_after_s)
    assert refused.json()["type"] == "urn:pulse:problem:overloaded"
    assert listed.status_code == 200


class SlowStore(InMemoryRunStore):
    async def get(self, run_id: str) -> RunState | None:
        await asyncio.sleep(5)
        return None


async def test_a_request_past_its_deadline_is_a_504(
    telemetry: Telemetry, auth_a: dict[str, str]
) -> None:
    settings = Settings(api_keys={"key-of-tenant-a": "tenant-a"}, request_timeout_s=0.2)
    app = _fresh(settings, store=SlowStore(), publisher=InMemoryRunPublisher())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.get("/v1/runs/some-run", headers=auth_a)
    assert response.status_code == 504
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json()["trace_id"]


async def test_cors_follows_the_configuration() -> None:
    def client_for(origins: list[str]) -> httpx.AsyncClient:
        settings = Settings(api_keys={"k": "t"}, cors_origins=origins)
        app = _fresh(settings, store=InMemoryRunStore(), publisher=InMemoryRunPublisher())
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with client_for(["https://app.example"]) as allowed:
        answer = await allowed.options("/v1/runs", headers=preflight)
        listed = await allowed.get(
            "/v1/runs", headers={"Origin": "https://app.example", "Authorization": "Bearer k"}
        )
        foreign = await allowed.options(
            "/v1/runs", headers={**preflight, "Origin": "https://evil.example"}
        )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    assert listed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in foreign.headers
    async with client_for([]) as closed:
        answer = await closed.options("/v1/runs", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers


async def _publish_all(events: InMemoryRunEvents, history: list[RunEvent]) -> None:
    for event in history:
        await events.publish(event)


async def test_sse_over_memory_replays_the_whole_run_and_ends(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    backends: Backends,
    auth_a: dict[str, str],
    auth_b: dict[str, str],
    history_of: Callable[[str, str], list[RunEvent]],
) -> None:
    _seed(store, "tenant-a", 7, status=RunStatus.COMPLETED, seq=4)
    assert isinstance(backends.events, InMemoryRunEvents)
    await _publish_all(backends.events, history_of("tenant-a-007", "tenant-a"))
    response = await client.get("/v1/runs/tenant-a-007/events", headers=auth_a)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in response.text.split("\n\n") if b and not b.startswith(":")]
    assert [b.split("\n")[1] for b in blocks] == [
        "event: run.started",
        "event: step.dispatched",
        "event: step.completed",
        "event: run.completed",
    ]
    assert json.loads(blocks[-1].split("data: ", 1)[1])["result"] == 42
    resumed = await client.get(
        "/v1/runs/tenant-a-007/events", headers={**auth_a, "Last-Event-ID": "3"}
    )
    assert resumed.text.count("event: ") == 1
    assert (
        await client.get("/v1/runs/tenant-a-007/events?after_seq=4", headers=auth_a)
    ).status_code == 204
    assert (await client.get("/v1/runs/tenant-a-007/events", headers=auth_b)).status_code == 404
    assert backends.events.followers == 0
