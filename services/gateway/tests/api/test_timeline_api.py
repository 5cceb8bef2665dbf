"""`GET /v1/runs/{id}/timeline` over in-memory backends: shape, tenancy, live fallback."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    Plan,
    PlanStep,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunStarted,
    RunState,
    RunStatus,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    StepState,
    StepStatus,
    Usage,
    utcnow,
)
from pulse_gateway.adapters import InMemoryRunArchive, InMemoryRunStore
from pulse_gateway.wiring import Backends

PROBLEM = "application/problem+json"


@pytest.fixture
def archive(backends: Backends) -> InMemoryRunArchive:
    assert isinstance(backends.archive, InMemoryRunArchive)
    return backends.archive


def _retried_run(run_id: str, tenant: str) -> list[RunEvent]:
    """s1 times out once, is retried and completes; the run completes."""
    t0 = utcnow()

    def at(ms: float) -> datetime:
        return t0 + timedelta(milliseconds=ms)

    def common(seq: int) -> dict[str, Any]:
        return {
            "message_id": f"{run_id}:{seq}",
            "run_id": run_id,
            "tenant": tenant,
            "trace_id": "ab" * 16,
            "seq": seq,
            "occurred_at": at(seq),
        }

    step = {"step_id": "s1", "tool": "calculator"}
    plan = Plan(steps=[PlanStep(id="s1", tool="calculator")])
    usage = Usage(prompt_tokens=3, completion_tokens=4, cost_usd=0.001)
    slow = ErrorInfo(code=ErrorCode.TIMED_OUT, message="slow", retryable=True)
    return [
        RunStarted(**common(1), prompt="calculate", plan=plan, planner="rule-based"),
        StepDispatched(**common(2), **step, attempt=1, input={}),
        StepFailedEvent(
            **common(3),
            **step,
            attempt=1,
            error=slow,
            started_at=at(2.5),
            finished_at=at(3),
            retry_at=at(4),
        ),
        StepDispatched(**common(4), **step, attempt=2, input={}),
        StepCompleted(
            **common(5),
            **step,
            attempt=2,
            output=1,
            usage=usage,
            started_at=at(4.5),
            finished_at=at(5),
            agent="default",
        ),
        RunCompleted(**common(6), result=1, usage=usage),
    ]


async def test_an_archived_run_timeline_has_every_attempt_in_time(
    client: httpx.AsyncClient,
    archive: InMemoryRunArchive,
    auth_a: dict[str, str],
    auth_b: dict[str, str],
) -> None:
    archive.events["run-t1"] = _retried_run("run-t1", "tenant-a")

    response = await client.get("/v1/runs/run-t1/timeline", headers=auth_a)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["run_id"], body["status"], body["source"]) == ("run-t1", "completed", "archive")
    assert body["trace_id"] == "ab" * 16
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "cost_usd": 0.001}
    [step] = body["steps"]
    assert (step["step_id"], step["tool"], step["status"]) == ("s1", "calculator", "completed")
    retried, done = step["attempts"]
    assert (retried["attempt"], retried["status"]) == (1, "retried")
    assert retried["error"]["code"] == "timed_out"
    assert retried["retry_at"] is not None
    assert retried["queue_wait_ms"] == pytest.approx(0.5)
    assert retried["duration_ms"] == pytest.approx(0.5)
    assert (done["attempt"], done["status"], done["agent"]) == (2, "completed", "default")
    assert done["usage"]["completion_tokens"] == 4

    # Another tenant's run reads exactly like a missing one.
    theirs = await client.get("/v1/runs/run-t1/timeline", headers=auth_b)
    missing = await client.get("/v1/runs/no-such-run/timeline", headers=auth_a)
    for answer in (theirs, missing):
        assert answer.status_code == 404
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["status"] == 404
    assert (await client.get("/v1/runs/run-t1/timeline")).status_code == 401


async def test_a_run_not_archived_yet_comes_from_its_live_state(
    client: httpx.AsyncClient,
    store: InMemoryRunStore,
    archive: InMemoryRunArchive,
    auth_a: dict[str, str],
    auth_b: dict[str, str],
) -> None:
    state = RunState(
        run_id="run-live",
        tenant="tenant-a",
        prompt="calculate 1+1",
        status=RunStatus.WORKING,
        steps={
            "s1": StepState(
                step_id="s1", tool="calculator", status=StepStatus.DISPATCHED, attempt=1
            )
        },
        usage=Usage(),
    )
    store.runs[state.run_id] = state
    body = (await client.get("/v1/runs/run-live/timeline", headers=auth_a)).json()
    assert (body["source"], body["status"]) == ("live", "working")
    assert [a["status"] for a in body["steps"][0]["attempts"]] == ["running"]
    assert (await client.get("/v1/runs/run-live/timeline", headers=auth_b)).status_code == 404

    # Once the archive has events, they win; while it is down the live state stands in.
    archive.events["run-live"] = [
        RunFailed(
            message_id="run-live:-:0:run.failed",
            run_id="run-live",
            tenant="tenant-a",
            seq=1,
            error=ErrorInfo(code=ErrorCode.INTERNAL, message="x"),
        )
    ]
    body = (await client.get("/v1/runs/run-live/timeline", headers=auth_a)).json()
    assert (body["source"], body["status"]) == ("archive", "failed")
    archive.available = False
    body = (await client.get("/v1/runs/run-live/timeline", headers=auth_a)).json()
    assert body["source"] == "live"
    del store.runs["run-live"]
    down = await client.get("/v1/runs/run-live/timeline", headers=auth_a)
    assert down.status_code == 503
    assert down.headers["content-type"] == PROBLEM


async def test_the_route_is_documented_with_its_response_model(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    route = spec["paths"]["/v1/runs/{run_id}/timeline"]["get"]
    ok = route["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/TimelineView"}
    assert "404" in route["responses"]
    attempt = spec["components"]["schemas"]["AttemptView"]["properties"]
    assert {"queue_wait_ms", "duration_ms", "agent", "retry_at", "error"} <= set(attempt)
