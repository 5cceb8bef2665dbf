"""Stopping attempts on `CancelTask`, and heartbeats for long tools.

Unit tests for `RunningTasks` and `keep_alive`; the rest runs the whole service against a
real nats-server: a cancel broadcast stops a running tool, a canceled attempt that is
dispatched later never runs, and a tool that outlives the ack wait is not redelivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import nats
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from pulse_agent_adapter import Settings, create_app
from pulse_agent_adapter.cancellation import RunningTasks
from pulse_agent_adapter.domain import ToolContext
from pulse_agent_adapter.heartbeat import heartbeat_interval, keep_alive
from pulse_contracts import (
    CancelTask,
    DispatchTask,
    ErrorCode,
    ErrorInfo,
    JsonValue,
    TaskFinished,
    subjects,
)

# --- RunningTasks ---------------------------------------------------------------------------


async def test_a_running_attempt_is_stopped_and_remembered() -> None:
    running = RunningTasks()
    started = asyncio.Event()
    stopped = asyncio.Event()

    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            stopped.set()
            raise
        return "never"

    outcome = asyncio.create_task(running.run(("r", "s", 1), slow()))
    await started.wait()
    assert running.is_running(("r", "s", 1))
    assert running.cancel(("r", "s", 1)) is True
    assert await outcome is None
    assert stopped.is_set()
    assert not running.is_running(("r", "s", 1))
    assert running.is_canceled(("r", "s", 1))
    assert not running.is_canceled(("r", "s", 2)), "another attempt of the step still runs"


async def test_a_canceled_attempt_never_starts_and_others_finish() -> None:
    running = RunningTasks()
    calls: list[str] = []

    async def work(name: str) -> str:
        calls.append(name)
        return name

    assert running.cancel(("r", "s", 1)) is False
    assert await running.run(("r", "s", 1), work("canceled")) is None
    assert await running.run(("r", "s", 2), work("next")) == "next"
    assert calls == ["next"]


async def test_memory_of_cancels_is_bounded() -> None:
    running = RunningTasks(remember=3)
    for attempt in range(1, 6):
        running.cancel(("r", "s", attempt))
    assert [running.is_canceled(("r", "s", n)) for n in range(1, 6)] == [
        False,
        False,
        True,
        True,
        True,
    ]


async def test_shutting_down_still_cancels_the_caller() -> None:
    running = RunningTasks()
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(60)

    caller = asyncio.create_task(running.run(("r", "s", 1), slow()))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller


@dataclass
class FakeMessage:
    beats: int = 0
    three: asyncio.Event = field(default_factory=asyncio.Event)

    async def in_progress(self) -> None:
        self.beats += 1
        if self.beats == 3:
            self.three.set()


async def test_keep_alive_beats_until_the_body_ends() -> None:
    msg = FakeMessage()
    async with keep_alive(msg, 0.02):  # type: ignore[arg-type]
        await asyncio.wait_for(msg.three.wait(), 10)
    beats = msg.beats
    await asyncio.sleep(0.06)
    assert msg.beats == beats
    assert heartbeat_interval(30) == 5.0
    assert heartbeat_interval(1.5) == 0.5


# --- against a real nats-server ---------------------------------------------------------------


@dataclass
class SlowTool:
    """Runs until released (or for `seconds`), noting when it starts and if it was stopped."""

    name: str = "slow"
    description: str = "test tool"
    input_schema: dict[str, JsonValue] = field(default_factory=lambda: {"type": "object"})
    seconds: float = 60.0
    calls: int = 0
    stopped: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        self.calls += 1
        self.started.set()
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.stopped += 1
            raise
        return "slept"


@dataclass
class Bus:
    nc: Client
    js: JetStreamContext
    tool: SlowTool

    async def dispatch(self, attempt: int = 1, timeout_s: float = 120) -> DispatchTask:
        task = DispatchTask(
            message_id=f"run-1:s1:{attempt}:dispatch",
            run_id="run-1",
            tenant="acme",
            step_id="s1",
            attempt=attempt,
            tool="slow",
            input={},
            timeout_s=timeout_s,
        )
        await self.js.publish(
            subjects.dispatch_subject("default"),
            task.model_dump_json().encode(),
            stream=subjects.STREAM_TASKS,
            headers={"Nats-Msg-Id": task.message_id},
        )
        return task

    async def cancel(self, attempt: int = 1) -> None:
        command = CancelTask(
            message_id=f"run-1:s1:{attempt}:cancel",
            run_id="run-1",
            tenant="acme",
            step_id="s1",
            attempt=attempt,
            reason=ErrorInfo(code=ErrorCode.CANCELED, message="the run was canceled"),
        )
        await self.nc.publish(
            subjects.task_cancel_subject("run-1"), command.model_dump_json().encode()
        )
        await self.nc.flush()

    async def results(self, wait_s: float) -> list[TaskFinished]:
        sub = await self.js.pull_subscribe(
            subjects.TASKS_RESULT, durable="test-results", stream=subjects.STREAM_TASKS
        )
        found: list[TaskFinished] = []
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            try:
                for msg in await sub.fetch(10, timeout=0.5):
                    await msg.ack()
                    found.append(TaskFinished.model_validate_json(msg.data))
            except (NatsTimeout, TimeoutError):
                continue
        return found

    async def settled(self) -> bool:
        info = await self.js.consumer_info(subjects.STREAM_TASKS, subjects.Durable.AGENT_ADAPTER)
        return info.num_pending == 0 and info.num_ack_pending == 0


async def wait_until(check, limit_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@pytest.fixture
def tool() -> SlowTool:
    return SlowTool()


@pytest.fixture
async def bus(nats_url: str, tool: SlowTool, request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    ack_wait_s = getattr(request, "param", 30.0)
    settings = Settings(
        nats_url=nats_url, http_port=0, log_format="text", ack_wait_s=ack_wait_s, max_deliver=5
    )
    app = create_app(settings, extra_tools=[tool])
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_service() -> None:
        async with app.start_lifespan_context():
            started.set()
            await stop.wait()

    service = asyncio.create_task(run_service())
    await asyncio.wait_for(started.wait(), 30)
    nc = await nats.connect(nats_url)
    try:
        yield Bus(nc, nc.jetstream(), tool)
    finally:
        await nc.close()
        stop.set()
        await service


@pytest.mark.nats
async def test_a_cancel_broadcast_stops_the_running_tool(bus: Bus) -> None:
    await bus.dispatch()
    await asyncio.wait_for(bus.tool.started.wait(), 20)
    await bus.cancel()
    await wait_until(lambda: _true(bus.tool.stopped == 1))
    await wait_until(bus.settled)
    assert await bus.results(1.5) == [], "a stopped attempt reports nothing"
    # The same attempt dispatched again (redelivered, or still queued) does not run.
    await bus.dispatch()
    await wait_until(bus.settled)
    assert bus.tool.calls == 1


@pytest.mark.nats
@pytest.mark.slow
@pytest.mark.parametrize("bus", [2.0], indirect=True)  # heartbeats every 2/3 s: room to stall
async def test_a_tool_outliving_the_ack_wait_is_not_redelivered(bus: Bus) -> None:
    bus.tool.seconds = 7.0  # three and a half ack waits
    await bus.dispatch(timeout_s=30)
    [result] = await bus.results(15)
    assert (result.outcome, result.output) == ("succeeded", "slept")
    assert bus.tool.calls == 1
    info = await bus.js.consumer_info(subjects.STREAM_TASKS, subjects.Durable.AGENT_ADAPTER)
    assert info.num_redelivered == 0


async def _true(value: bool) -> bool:
    return value
