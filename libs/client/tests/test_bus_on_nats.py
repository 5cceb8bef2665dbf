"""Starting and following a run on NATS with `PulseBus`, against a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from pulse_broker import ensure_streams
from pulse_client import PulseBus, new_traceparent, trace_id_of
from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    Plan,
    PlanStep,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunRequested,
    RunRestarted,
    RunStarted,
    subjects,
)
from pulse_settings import ServiceSettings

pytestmark = pytest.mark.nats


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, ServiceSettings(nats_url=nats_url))
        yield js
    finally:
        await nc.close()


async def test_publish_run_sends_a_deduplicated_traced_request(
    nats_url: str, js: JetStreamContext
) -> None:
    parent = new_traceparent()
    async with PulseBus(nats_url) as bus:
        first = await bus.publish_run("calculate 1 + 1", tenant="billing", metadata={"from": "erp"})
        mine = await bus.publish_run("calculate 2 + 2", run_id="order-7", traceparent=parent)
        again = await bus.publish_run("calculate 2 + 2", run_id="order-7", traceparent=parent)
    assert again == mine
    assert mine.trace_id == trace_id_of(parent)
    info = await js.stream_info(subjects.STREAM_RUNS)
    assert info.state.messages == 2  # the resend was dropped by Nats-Msg-Id
    stored = [await js.get_msg(subjects.STREAM_RUNS, seq) for seq in (1, 2)]
    requests = [RunRequested.model_validate_json(m.data or b"") for m in stored]
    assert [(r.run_id, r.tenant) for r in requests] == [
        (first.run_id, "billing"),
        ("order-7", "default"),
    ]
    assert requests[0].metadata == {"from": "erp"}
    headers = dict(stored[1].headers or {})
    assert headers["Nats-Msg-Id"] == "run:order-7:requested" == requests[1].message_id
    assert headers["traceparent"] == parent
    assert requests[1].trace_id == parent.split("-")[1]
    assert trace_id_of("junk") is None


def _events(run_id: str) -> list[RunEvent]:
    plan = Plan(steps=[PlanStep(id="s1", tool="calculator")])
    common = {"run_id": run_id, "tenant": "default"}
    failed = ErrorInfo(code=ErrorCode.TOOL_FAILED, message="x")
    return [
        RunStarted(message_id="e1", seq=1, prompt="p", plan=plan, planner="rule-based", **common),
        RunFailed(message_id="e2", seq=2, error=failed, **common),
        RunRestarted(message_id="e3", seq=3, restarts=1, steps=["s1"], **common),
        RunCompleted(message_id="e4", seq=4, result=2, **common),
    ]


async def test_follow_replays_and_ends_at_the_last_end_of_the_run(
    nats_url: str, js: JetStreamContext
) -> None:
    events = _events("r-follow")
    for event in events[:3]:
        await js.publish(subjects.run_events_subject("r-follow"), event.model_dump_json().encode())
    async with PulseBus(nats_url) as bus:
        seen: list[str] = []

        async def follow() -> None:
            async for event in bus.follow("r-follow", idle_timeout_s=20):
                seen.append(event.type)

        following = asyncio.create_task(follow())
        await asyncio.sleep(0.3)
        assert not following.done()  # a failure followed by a restart is not the end
        await js.publish(
            subjects.run_events_subject("r-follow"), events[3].model_dump_json().encode()
        )
        await asyncio.wait_for(following, 20)
    assert seen == ["run.started", "run.failed", "run.restarted", "run.completed"]
