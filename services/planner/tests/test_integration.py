"""The planner as it runs: its app under uvicorn, against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import nats
import pytest
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from pulse_broker import publish
from pulse_contracts import (
    DeadLettered,
    ErrorCode,
    PlanCreated,
    PlanRejected,
    RunRequested,
    subjects,
)
from pulse_planner import PlannerSettings, create_app
from pulse_stack.testing import serving as serving_app
from pulse_telemetry import setup_telemetry

DEMO_GOAL = "calculate 5 * 3, add the result as a todo, then list all todos"


@dataclass
class Bus:
    js: JetStreamContext
    client: NatsBroker
    http: httpx.AsyncClient


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _messages(js: JetStreamContext, stream: str, subject: str) -> list[Msg]:
    """Every message stored on `subject`, read by sequence (nothing is consumed)."""
    found: list[Msg] = []
    seq = 1
    while True:
        try:
            raw = await js.get_msg(stream, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return found
        found.append(raw)  # type: ignore[arg-type]
        seq = (raw.seq or seq) + 1


async def _planner_idle(js: JetStreamContext) -> bool:
    info = await js.consumer_info(subjects.STREAM_RUNS, subjects.Durable.PLANNER)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    settings = PlannerSettings(
        nats_url=nats_url,
        log_format="text",
        max_deliver=2,
        redelivery_backoff_s=(0.1,),
    )
    app = create_app(settings, telemetry=setup_telemetry(settings, install_global=False))
    async with serving_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        nc = await nats.connect(nats_url)
        client = NatsBroker(nats_url)
        try:

            async def ready() -> bool:
                return (await http.get("/readyz")).status_code == 200

            await _eventually(ready)
            await client.connect()
            yield Bus(nc.jetstream(), client, http)
        finally:
            await client.stop()
            await nc.close()


def _request(run_id: str, prompt: str, message_id: str | None = None) -> RunRequested:
    return RunRequested(
        message_id=message_id or f"run:{run_id}:requested",
        run_id=run_id,
        tenant="acme",
        prompt=prompt,
    )


@pytest.mark.nats
async def test_planner_on_real_jetstream(bus: Bus) -> None:
    js = bus.js
    health = await bus.http.get("/healthz")
    assert health.status_code == 200

    # A request is planned once, even when it is published twice with the same id...
    request = _request("run-1", DEMO_GOAL)
    first = await publish(bus.client, request, subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS)
    again = await publish(bus.client, request, subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS)
    assert not first.duplicate
    assert again.duplicate

    async def planned() -> bool:
        return len(await _messages(js, subjects.STREAM_RUNS, subjects.PLANS_CREATED)) >= 1

    await _eventually(planned)
    # ...and when the same run is requested again under another message id (a resend from
    # outside the duplicate window of the request), the plan's own id absorbs it.
    resend = _request("run-1", DEMO_GOAL, message_id="run:run-1:requested:resend")
    await publish(bus.client, resend, subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS)
    await _eventually(lambda: _planner_idle(js))

    [stored] = await _messages(js, subjects.STREAM_RUNS, subjects.PLANS_CREATED)
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == "run:run-1:plan"
    assert "traceparent" in stored.headers
    plan = PlanCreated.model_validate_json(stored.data)
    assert (plan.run_id, plan.tenant, plan.planner) == ("run-1", "acme", "rule-based")
    assert plan.trace_id is not None
    assert [(s.id, s.tool, s.input, s.depends_on) for s in plan.plan.steps] == [
        ("s1", "calculator", {"expression": "5 * 3"}, []),
        ("s2", "todo.add", {"text": "{{steps.s1.output}}"}, ["s1"]),
        ("s3", "todo.list", {}, ["s2"]),
    ]

    # Poison: not JSON at all, and JSON that is not a RunRequested. Both go to the DLQ...
    await bus.client.publish(b"{not json", subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS)
    await bus.client.publish(
        b'{"run_id": "run-x"}', subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS
    )
    dead_letters = subjects.dlq_subject(subjects.Durable.PLANNER)

    async def dead_lettered() -> bool:
        with contextlib.suppress(NotFoundError):
            return len(await _messages(js, subjects.STREAM_DLQ, dead_letters)) == 2
        return False

    await _eventually(dead_lettered)
    letters = [
        DeadLettered.model_validate_json(m.data)
        for m in await _messages(js, subjects.STREAM_DLQ, dead_letters)
    ]
    assert [letter.payload for letter in letters] == ["{not json", '{"run_id": "run-x"}']
    assert {letter.error.code for letter in letters} == {ErrorCode.INVALID_MESSAGE}
    assert {letter.consumer for letter in letters} == {subjects.Durable.PLANNER}
    assert {letter.original_subject for letter in letters} == {subjects.RUNS_REQUESTED}

    # ...and the consumer carries on: the next goals are still planned or rejected.
    await publish(
        bus.client,
        _request("run-2", "calculate 12 * 7 and calculate 100 / 4, then add both results as todos"),
        subjects.RUNS_REQUESTED,
        stream=subjects.STREAM_RUNS,
    )
    await publish(
        bus.client,
        _request("run-3", "make me a sandwich"),
        subjects.RUNS_REQUESTED,
        stream=subjects.STREAM_RUNS,
    )

    async def answered() -> bool:
        created = await _messages(js, subjects.STREAM_RUNS, subjects.PLANS_CREATED)
        rejected = await _messages(js, subjects.STREAM_RUNS, subjects.PLANS_REJECTED)
        return len(created) == 2 and len(rejected) == 1

    await _eventually(answered)
    second = PlanCreated.model_validate_json(
        (await _messages(js, subjects.STREAM_RUNS, subjects.PLANS_CREATED))[1].data
    )
    assert second.run_id == "run-2"
    assert [s.depends_on for s in second.plan.steps] == [[], [], ["s1", "s2"], ["s1", "s2"]]
    [rejected_msg] = await _messages(js, subjects.STREAM_RUNS, subjects.PLANS_REJECTED)
    rejection = PlanRejected.model_validate_json(rejected_msg.data)
    assert rejected_msg.headers is not None
    assert rejected_msg.headers["Nats-Msg-Id"] == "run:run-3:plan"
    assert rejection.error.code is ErrorCode.PLANNING_FAILED
    assert rejection.error.run_id == "run-3"

    metrics = (await bus.http.get("/metrics")).text
    assert 'pulse_planner_runs_planned_total{outcome="created",planner="rule-based"} 2.0' in metrics
    assert (
        'pulse_planner_runs_planned_total{outcome="rejected",planner="rule-based"} 1.0' in metrics
    )
