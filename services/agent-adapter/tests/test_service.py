"""The whole agent-adapter against a real nats-server: PULSE_TASKS in, PULSE_TASKS out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from pulse_agent_adapter import Settings, create_app
from pulse_agent_adapter.domain import ToolContext
from pulse_contracts import (
    DeadLettered,
    DispatchTask,
    JsonValue,
    TaskFinished,
    subjects,
    task_message_id,
)

pytestmark = pytest.mark.nats

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class FlakyTool:
    """Fails like an unreachable store on its first call, then works."""

    name = "flaky"
    description = "test tool"
    input_schema: dict[str, JsonValue] = {"type": "object"}

    def __init__(self) -> None:
        self.calls = 0

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("KV unreachable")
        return "recovered"


@dataclass
class Bus:
    nc: Client
    js: JetStreamContext
    flaky: FlakyTool

    async def dispatch(
        self, tool: str, input: dict[str, JsonValue], *, msg_id: str | None = None, **fields: object
    ) -> DispatchTask:
        task = DispatchTask.model_validate(
            {
                "message_id": "m",
                "run_id": "run-1",
                "tenant": "acme",
                "step_id": "s1",
                "tool": tool,
                "input": input,
                **fields,
            }
        )
        await self.js.publish(
            subjects.dispatch_subject(task.agent),
            task.model_dump_json().encode(),
            stream=subjects.STREAM_TASKS,
            headers={
                "Nats-Msg-Id": msg_id or f"{task.run_id}:{task.step_id}:{task.attempt}:dispatch",
                "traceparent": TRACEPARENT,
            },
        )
        return task

    async def results(
        self, count: int, within_s: float = 15.0
    ) -> list[tuple[TaskFinished, dict[str, str]]]:
        sub = await self.js.pull_subscribe(
            subjects.TASKS_RESULT, durable="test-results", stream=subjects.STREAM_TASKS
        )
        got: list[tuple[TaskFinished, dict[str, str]]] = []
        async with asyncio.timeout(within_s):
            while len(got) < count:
                try:
                    msgs = await sub.fetch(count - len(got), timeout=1)
                except NatsTimeout:
                    continue
                for msg in msgs:
                    await msg.ack()
                    got.append(
                        (TaskFinished.model_validate_json(msg.data), dict(msg.headers or {}))
                    )
        return got

    async def no_more_results(self, wait: float = 1.5) -> bool:
        sub = await self.js.pull_subscribe(
            subjects.TASKS_RESULT, durable="test-results", stream=subjects.STREAM_TASKS
        )
        try:
            await sub.fetch(1, timeout=wait)
        except NatsTimeout:
            return True
        return False


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    settings = Settings(
        nats_url=nats_url,
        http_port=0,
        redelivery_backoff_s=(0.2,),
        max_deliver=3,
        log_format="text",
    )
    flaky = FlakyTool()
    app = create_app(settings, extra_tools=[flaky])
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_service() -> None:
        # One task enters and leaves the app's lifespan: pytest runs a fixture's setup and
        # teardown in different tasks, which anyio's task group does not allow.
        async with app.start_lifespan_context():
            started.set()
            await stop.wait()

    service = asyncio.create_task(run_service())
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({service, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if not started.is_set():
        waiting.cancel()
        await service  # raises the start-up error
        raise RuntimeError("the agent-adapter did not start in time")
    nc = await nats.connect(nats_url)
    try:
        yield Bus(nc, nc.jetstream(), flaky)
    finally:
        await nc.close()
        stop.set()
        await service


async def test_consumes_a_dispatch_and_publishes_the_result(bus: Bus) -> None:
    await bus.dispatch("calculator", {"expression": "5 * 3"}, attempt=2)
    [(done, headers)] = await bus.results(1)
    assert done.outcome == "succeeded"
    assert done.output == 15
    assert (done.run_id, done.tenant, done.step_id, done.attempt, done.tool) == (
        "run-1",
        "acme",
        "s1",
        2,
        "calculator",
    )
    assert headers["Nats-Msg-Id"] == task_message_id("run-1", "s1", 2, "result")
    # The result joins the dispatcher's trace.
    assert done.trace_id == TRACE_ID
    assert TRACE_ID in headers["traceparent"]
    info = await bus.js.consumer_info(subjects.STREAM_TASKS, subjects.Durable.AGENT_ADAPTER)
    assert info.num_pending == 0


async def test_todos_per_tenant_through_the_bus(bus: Bus) -> None:
    await bus.dispatch("todo.add", {"text": 15}, step_id="add")
    await bus.dispatch(
        "todo.add", {"text": "not mine"}, step_id="add", tenant="globex", run_id="run-2"
    )
    await bus.results(2)
    await bus.dispatch("todo.list", {}, step_id="list")
    [(listed, _)] = await bus.results(1)
    assert listed.outcome == "succeeded"
    assert isinstance(listed.output, dict)
    todos = listed.output["todos"]
    assert isinstance(todos, list)
    assert [(t["id"], t["text"]) for t in todos if isinstance(t, dict)] == [("run-1:add", "15")]
    await bus.dispatch("todo.list", {}, step_id="list", tenant="globex", run_id="run-2")
    [(theirs, _)] = await bus.results(1)
    assert isinstance(theirs.output, dict)
    their_todos = theirs.output["todos"]
    assert isinstance(their_todos, list)
    assert [(t["id"], t["text"]) for t in their_todos if isinstance(t, dict)] == [
        ("run-2:add", "not mine")
    ]


async def test_a_rejected_input_is_a_result_and_never_redelivered(bus: Bus) -> None:
    await bus.dispatch("calculator", {"expression": "__import__('os')"})
    [(done, _)] = await bus.results(1)
    assert done.outcome == "failed"
    assert done.error is not None
    assert done.error.code == "tool_failed"
    assert await bus.no_more_results()
    info = await bus.js.consumer_info(subjects.STREAM_TASKS, subjects.Durable.AGENT_ADAPTER)
    assert info.num_redelivered == 0
    assert info.num_ack_pending == 0


async def test_an_unknown_tool_is_a_failed_result(bus: Bus) -> None:
    await bus.dispatch("shell", {"cmd": "ls"})
    [(done, _)] = await bus.results(1)
    assert done.outcome == "failed"
    assert done.error is not None
    assert done.error.code == "tool_not_found"


async def test_an_infrastructure_failure_is_redelivered(bus: Bus) -> None:
    await bus.dispatch("flaky", {})
    [(done, _)] = await bus.results(1)
    assert done.outcome == "succeeded"
    assert done.output == "recovered"
    assert bus.flaky.calls == 2
    assert await bus.no_more_results()


async def test_a_step_run_twice_has_one_effect_and_one_result(bus: Bus) -> None:
    # The executor re-dispatching the same attempt (e.g. after its own crash) with a new
    # message id: the todo is added once and the second result is a duplicate.
    await bus.dispatch("todo.add", {"text": "once"}, step_id="add", msg_id="first")
    await bus.dispatch("todo.add", {"text": "once"}, step_id="add", msg_id="second")
    [(done, _)] = await bus.results(1)
    assert done.outcome == "succeeded"
    assert await bus.no_more_results()
    await bus.dispatch("todo.list", {}, step_id="list")
    [(listed, _)] = await bus.results(1)
    assert listed.output == {"todos": [done.output]}


async def test_a_message_that_is_not_a_dispatch_task_is_dead_lettered(bus: Bus) -> None:
    await bus.js.publish(
        subjects.dispatch_subject("default"),
        b'{"run_id": "run-1", "tool": "calculator"}',
        stream=subjects.STREAM_TASKS,
        headers={"Nats-Msg-Id": "garbage"},
    )
    sub = await bus.js.pull_subscribe(
        subjects.dlq_subject(subjects.Durable.AGENT_ADAPTER), stream=subjects.STREAM_DLQ
    )
    [letter] = await sub.fetch(1, timeout=10)
    dead = DeadLettered.model_validate_json(letter.data)
    assert dead.error.code == "invalid_message"
    assert dead.deliveries == 1
    assert await bus.no_more_results()
