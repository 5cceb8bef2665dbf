"""The executor against a real nats-server: real KV compare-and-set, real streams, dedupe.

A fake agent inside the test pulls `DispatchTask`s from `PULSE_TASKS` with its own durable
consumer and answers with `TaskFinished` on `pulse.tasks.result`, as the agent-adapter would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import nats
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, PubAck
from opentelemetry import trace

from pulse_broker import KvConflict
from pulse_contracts import (
    RUN_EVENT_ADAPTER,
    DispatchTask,
    JsonValue,
    Message,
    RunEventBase,
    RunState,
    RunStatus,
    StepStatus,
    TaskFinished,
    subjects,
    task_message_id,
    utcnow,
)
from pulse_executor import ExecutorService, Settings, create_service
from pulse_executor.adapters import DirectSend, NatsRunStore
from pulse_executor.domain import ExecutorRunState

pytestmark = [pytest.mark.nats, pytest.mark.slow]


class CountingKvStore(NatsRunStore):
    """The real KV store, counting compare-and-set conflicts it lost."""

    conflicts = 0

    async def update(self, run_id: str, state: ExecutorRunState, revision: int) -> int:
        try:
            return await super().update(run_id, state, revision)
        except KvConflict:
            CountingKvStore.conflicts += 1
            raise


def settings(nats_url: str) -> Settings:
    return Settings(
        nats_url=nats_url,
        log_format="text",
        log_level="WARNING",
        ack_wait_s=5.0,
        redelivery_backoff_s=(0.2, 0.5),
    )


@contextlib.asynccontextmanager
async def running(service: ExecutorService) -> AsyncIterator[ExecutorService]:
    """Start it the way uvicorn's lifespan does: provisioning hooks, then the consumers."""
    async with service.app.start_lifespan_context():
        yield service


def tool_output(task: DispatchTask) -> JsonValue:
    if task.tool == "square":
        return int(task.input["n"]) ** 2  # type: ignore[arg-type]
    if task.tool == "sum":
        return sum(task.input["values"])  # type: ignore[arg-type]
    return task.input  # echo


@dataclass
class FakeAgent:
    """Answers every dispatched task; `hold` keeps some steps unanswered until released."""

    js: JetStreamContext
    hold: set[str] = field(default_factory=set)
    tasks: list[DispatchTask] = field(default_factory=list)
    held: dict[str, DispatchTask] = field(default_factory=dict)
    _runner: asyncio.Task[None] | None = None
    _answering: set[asyncio.Task[TaskFinished]] = field(default_factory=set)

    async def start(self) -> None:
        psub = await self.js.pull_subscribe(
            subjects.TASKS_DISPATCH_WILDCARD, durable="test-agent", stream=subjects.STREAM_TASKS
        )
        self._runner = asyncio.create_task(self._serve(psub))

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _serve(self, psub) -> None:
        while True:
            try:
                batch = await psub.fetch(batch=32, timeout=0.5)
            except (NatsTimeout, TimeoutError):
                continue
            for msg in batch:
                task = DispatchTask.model_validate_json(msg.data)
                self.tasks.append(task)
                await msg.ack()
                if task.step_id in self.hold:
                    self.held[task.step_id] = task
                else:
                    answering = asyncio.create_task(self.answer(task))
                    self._answering.add(answering)
                    answering.add_done_callback(self._answering.discard)

    async def answer(self, task: DispatchTask, msg_id: str | None = None) -> TaskFinished:
        now = utcnow()
        result = TaskFinished(
            message_id=msg_id or task_message_id(task.run_id, task.step_id, task.attempt, "result"),
            run_id=task.run_id,
            tenant=task.tenant,
            trace_id=task.trace_id,
            step_id=task.step_id,
            attempt=task.attempt,
            tool=task.tool,
            outcome="succeeded",
            output=tool_output(task),
            started_at=now,
            finished_at=now,
        )
        await self.js.publish(
            subjects.TASKS_RESULT,
            result.model_dump_json().encode(),
            stream=subjects.STREAM_TASKS,
            headers={"Nats-Msg-Id": result.message_id},
        )
        return result

    def dispatch_counts(self) -> Counter[str]:
        return Counter(t.step_id for t in self.tasks)


@contextlib.asynccontextmanager
async def agent(nc: Client, hold: set[str] | None = None) -> AsyncIterator[FakeAgent]:
    fake = FakeAgent(nc.jetstream(), hold=hold or set())
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def send_plan(nc: Client, message: Message) -> None:
    await nc.jetstream().publish(
        subjects.PLANS_CREATED,
        message.model_dump_json().encode(),
        stream=subjects.STREAM_RUNS,
        headers={"Nats-Msg-Id": message.message_id},
    )


async def run_state(nc: Client, run_id: str) -> tuple[RunState, int] | None:
    kv = await nc.jetstream().key_value(subjects.KV_RUN_STATE)
    try:
        entry = await kv.get(run_id)
    except nats.js.errors.KeyNotFoundError:
        return None
    assert entry.value is not None
    assert entry.revision is not None
    return RunState.model_validate_json(entry.value), entry.revision


async def wait_for(
    check: Callable[[], Awaitable[bool]], limit_s: float = 30.0, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def wait_terminal(nc: Client, run_id: str, limit_s: float = 30.0) -> RunState:
    async def done() -> bool:
        found = await run_state(nc, run_id)
        return found is not None and found[0].status.is_terminal

    await wait_for(done, limit_s, f"run {run_id} to finish")
    found = await run_state(nc, run_id)
    assert found is not None
    return found[0]


async def run_events(nc: Client, run_id: str) -> list[RunEventBase]:
    """Every event stored for the run, in stream order."""
    js = nc.jetstream()
    psub = await js.pull_subscribe(
        subjects.run_events_subject(run_id),
        stream=subjects.STREAM_EVENTS,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    events: list[RunEventBase] = []
    while True:
        try:
            batch = await psub.fetch(batch=100, timeout=0.5)
        except (NatsTimeout, TimeoutError):
            break
        for msg in batch:
            events.append(RUN_EVENT_ADAPTER.validate_json(msg.data))
            await msg.ack()
    await psub.unsubscribe()
    return events


async def drained(nc: Client, durable: str, stream: str) -> bool:
    info = await nc.jetstream().consumer_info(stream, durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def no_timers_held(nc: Client) -> bool:
    info = await nc.jetstream().stream_info(subjects.STREAM_TIMERS)
    return info.state.messages == 0


def handled_results(service: ExecutorService) -> float:
    total = 0.0
    for metric in service.telemetry.registry.collect():
        for sample in metric.samples:
            if (
                sample.name == "faststream_received_messages_total"
                and "result" in sample.labels.get("handler", "")
            ):
                total += sample.value
    return total


def assert_event_history(events: list[RunEventBase], steps: list[str]) -> None:
    assert sorted(e.seq for e in events) == list(range(1, len(events) + 1)), "seq: 1..n, no gaps"
    kinds = Counter((e.type, getattr(e, "step_id", None)) for e in events)
    for sid in steps:
        assert kinds[("step.dispatched", sid)] == 1
        assert kinds[("step.completed", sid)] == 1
    assert kinds[("run.started", None)] == 1
    assert kinds[("run.completed", None)] == 1
    assert len(events) == 2 + 2 * len(steps)


async def test_a_run_completes_against_real_nats(nats_url: str, nc: Client, msgs) -> None:
    plan = msgs.plan(
        {"id": "n", "tool": "echo", "input": {"n": 4}},
        {"id": "sq", "tool": "square", "input": {"n": "{{steps.n.output.n}}"}},
        {"id": "sq2", "tool": "square", "input": {"n": "{{steps.n.output.n}}"}},
        {
            "id": "total",
            "tool": "sum",
            "input": {"values": ["{{steps.sq.output}}", "{{steps.sq2.output}}", 1]},
        },
        {"id": "say", "tool": "echo", "input": {"text": "total is {{steps.total.output}}"}},
    )
    async with (
        running(create_service(settings(nats_url), install_telemetry=False)),
        agent(nc) as fake,
    ):
        await send_plan(nc, msgs.plan_created(plan))
        state = await wait_terminal(nc, "run-1")
        await wait_for(
            lambda: drained(nc, subjects.Durable.EXECUTOR_RESULTS, subjects.STREAM_TASKS)
        )
        # Every step's timeout and the run's deadline were withdrawn, not left to fire.
        await wait_for(lambda: no_timers_held(nc), what="the moot timers to be withdrawn")
    assert state.status is RunStatus.COMPLETED, state.error
    assert state.result == {"text": "total is 33"}
    assert all(s.status is StepStatus.COMPLETED and s.attempt == 1 for s in state.steps.values())
    assert state.trace_id
    assert "traceparent" in state.trace_context
    assert fake.dispatch_counts() == Counter({"n": 1, "sq": 1, "sq2": 1, "total": 1, "say": 1})
    assert_event_history(await run_events(nc, "run-1"), ["n", "sq", "sq2", "total", "say"])


async def test_two_executors_share_a_fan_out_run(nats_url: str, nc: Client, msgs) -> None:
    leaves = [f"sq{i}" for i in range(24)]
    plan = msgs.plan(
        {"id": "root", "tool": "echo", "input": {"go": True}},
        *(
            {"id": sid, "tool": "square", "input": {"n": i, "after": "{{steps.root.output.go}}"}}
            for i, sid in enumerate(leaves)
        ),
        {
            "id": "total",
            "tool": "sum",
            "input": {"values": [f"{{{{steps.{sid}.output}}}}" for sid in leaves]},
        },
    )
    CountingKvStore.conflicts = 0
    first = create_service(settings(nats_url), store=CountingKvStore(), install_telemetry=False)
    second = create_service(settings(nats_url), store=CountingKvStore(), install_telemetry=False)
    async with running(first), running(second), agent(nc) as fake:
        await send_plan(nc, msgs.plan_created(plan))
        state = await wait_terminal(nc, "run-1")
        await wait_for(
            lambda: drained(nc, subjects.Durable.EXECUTOR_RESULTS, subjects.STREAM_TASKS)
        )
    assert state.status is RunStatus.COMPLETED, state.error
    assert state.result == sum(i * i for i in range(24))
    assert all(s.status is StepStatus.COMPLETED and s.attempt == 1 for s in state.steps.values())
    assert set(fake.dispatch_counts().values()) == {1}, "every step dispatched exactly once"
    assert len(fake.dispatch_counts()) == 26
    assert_event_history(await run_events(nc, "run-1"), ["root", *leaves, "total"])
    shares = (handled_results(first), handled_results(second))
    assert sum(shares) >= 26, f"every result handled: {shares}"
    assert min(shares) > 0, f"both replicas took results: {shares}"
    assert CountingKvStore.conflicts > 0, "concurrent results really raced on the KV revision"


async def test_a_duplicated_result_dispatches_nothing_twice(
    nats_url: str, nc: Client, msgs
) -> None:
    plan = msgs.plan(
        {"id": "a", "tool": "echo", "input": {"v": 1}},
        {"id": "b", "tool": "echo", "input": {"v": "{{steps.a.output.v}}"}},
    )
    async with (
        running(create_service(settings(nats_url), install_telemetry=False)),
        agent(nc, hold={"a", "b"}) as fake,
    ):
        await send_plan(nc, msgs.plan_created(plan))
        await wait_for(lambda: _held(fake, "a"), what="a dispatched")
        await fake.answer(fake.held["a"])
        await wait_for(lambda: _held(fake, "b"), what="b dispatched")
        await wait_for(
            lambda: drained(nc, subjects.Durable.EXECUTOR_RESULTS, subjects.STREAM_TASKS)
        )
        before = await run_state(nc, "run-1")
        # The same result again, under another Nats-Msg-Id: JetStream stores it a second time.
        await fake.answer(fake.held["a"], msg_id="run-1:a:1:result-again")
        await wait_for(
            lambda: drained(nc, subjects.Durable.EXECUTOR_RESULTS, subjects.STREAM_TASKS)
        )
        await asyncio.sleep(1.0)  # give a wrong second dispatch time to show up
        after = await run_state(nc, "run-1")
        assert before is not None
        assert after is not None
        assert after[1] == before[1], "the duplicate changed nothing in the stored state"
        assert fake.dispatch_counts() == Counter({"a": 1, "b": 1})
        await fake.answer(fake.held["b"])
        state = await wait_terminal(nc, "run-1")
    assert state.status is RunStatus.COMPLETED
    assert state.result == {"v": 1}
    assert fake.dispatch_counts() == Counter({"a": 1, "b": 1})
    assert_event_history(await run_events(nc, "run-1"), ["a", "b"])


async def test_effects_lost_after_the_write_are_republished_on_redelivery(
    nats_url: str, nc: Client, msgs
) -> None:
    """The process 'dies' between storing the state and publishing b's dispatch."""
    failures = {"left": 1}

    direct = DirectSend(trace.get_tracer(__name__))

    async def flaky(broker, message, subject, *, stream, headers=None) -> PubAck:
        if isinstance(message, DispatchTask) and message.step_id == "b" and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("connection lost before the dispatch was sent")
        return await direct(broker, message, subject, stream=stream, headers=headers)

    plan = msgs.plan({"id": "a"}, {"id": "b", "input": {"v": "{{steps.a.output}}"}})
    service = create_service(settings(nats_url), send=flaky, install_telemetry=False)
    async with running(service), agent(nc) as fake:
        await send_plan(nc, msgs.plan_created(plan))
        state = await wait_terminal(nc, "run-1")
    assert failures["left"] == 0
    assert state.status is RunStatus.COMPLETED
    assert fake.dispatch_counts() == Counter({"a": 1, "b": 1})
    assert_event_history(await run_events(nc, "run-1"), ["a", "b"])


async def _held(fake: FakeAgent, step_id: str) -> bool:
    return step_id in fake.held
