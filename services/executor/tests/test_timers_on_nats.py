"""Retries, timeouts, deadlines, cancel and restart against a real nats-server.

Timers go through JetStream message scheduling (stream PULSE_TIMERS): nothing in the
executor sleeps. A scripted agent pulls `DispatchTask`s from PULSE_TASKS and, per attempt,
answers, fails with a retryable error, or stays silent like an agent-adapter that died.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from pulse_contracts import (
    CancelTask,
    DispatchTask,
    ErrorCode,
    ErrorInfo,
    Message,
    RestartRun,
    RunStatus,
    StepStatus,
    TaskFinished,
    control_message_id,
    subjects,
    task_message_id,
    utcnow,
)
from pulse_executor import Settings, create_service

from .test_nats_integration import (
    run_events,
    run_state,
    running,
    send_plan,
    tool_output,
    wait_for,
    wait_terminal,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]

Reply = Literal["answer", "fail", "silent"]


def settings(nats_url: str) -> Settings:
    return Settings(
        nats_url=nats_url,
        log_format="text",
        log_level="WARNING",
        ack_wait_s=5.0,
        redelivery_backoff_s=(0.2, 0.5),
        step_timeout_grace_s=0.2,
    )


@dataclass
class ScriptedAgent:
    js: JetStreamContext
    script: Callable[[DispatchTask], Reply]
    tasks: list[DispatchTask] = field(default_factory=list)
    _runner: asyncio.Task[None] | None = None

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
                reply = self.script(task)
                if reply != "silent":
                    await self.reply(task, failed=reply == "fail")

    async def reply(self, task: DispatchTask, *, failed: bool = False) -> None:
        now = utcnow()
        error = ErrorInfo(code=ErrorCode.TOOL_FAILED, message="flaky", retryable=True)
        result = TaskFinished(
            message_id=task_message_id(task.run_id, task.step_id, task.attempt, "result"),
            run_id=task.run_id,
            tenant=task.tenant,
            step_id=task.step_id,
            attempt=task.attempt,
            tool=task.tool,
            outcome="failed" if failed else "succeeded",
            output=None if failed else tool_output(task),
            error=error if failed else None,
            started_at=now,
            finished_at=now,
        )
        await self.js.publish(
            subjects.TASKS_RESULT,
            result.model_dump_json().encode(),
            stream=subjects.STREAM_TASKS,
            headers={"Nats-Msg-Id": result.message_id},
        )

    def attempts(self) -> Counter[tuple[str, int]]:
        return Counter((t.step_id, t.attempt) for t in self.tasks)


@contextlib.asynccontextmanager
async def agent(
    nc: Client, script: Callable[[DispatchTask], Reply]
) -> AsyncIterator[ScriptedAgent]:
    scripted = ScriptedAgent(nc.jetstream(), script)
    await scripted.start()
    try:
        yield scripted
    finally:
        await scripted.stop()


@contextlib.asynccontextmanager
async def cancel_broadcasts(nc: Client) -> AsyncIterator[list[CancelTask]]:
    heard: list[CancelTask] = []

    async def on_cancel(msg: Msg) -> None:
        heard.append(CancelTask.model_validate_json(msg.data))

    sub = await nc.subscribe(subjects.TASKS_CANCEL_WILDCARD, cb=on_cancel)
    try:
        yield heard
    finally:
        await sub.unsubscribe()


async def command(nc: Client, message: Message, subject: str) -> None:
    await nc.jetstream().publish(
        subject,
        message.model_dump_json().encode(),
        stream=subjects.STREAM_RUNS,
        headers={"Nats-Msg-Id": message.message_id},
    )


def kinds(events) -> list[str]:
    return [f"{e.type}:{getattr(e, 'step_id', '')}:{getattr(e, 'attempt', '')}" for e in events]


async def test_a_silent_agent_times_out_and_the_retry_completes(
    nats_url: str, nc: Client, msgs
) -> None:
    plan = msgs.plan(
        {"id": "a", "timeout_s": 1.5, "retry": {"initial_delay_s": 0.2}, "input": {"v": 1}},
    )
    service = create_service(settings(nats_url), install_telemetry=False)

    def script(task: DispatchTask) -> Reply:
        return "silent" if task.attempt == 1 else "answer"

    async with running(service), agent(nc, script) as fake, cancel_broadcasts(nc) as stops:
        await send_plan(nc, msgs.plan_created(plan))
        state = await wait_terminal(nc, "run-1")
        await wait_for(lambda: _true(len(stops) == 1), what="the stop broadcast")
        # The dead agent's attempt answers after all: too late, nothing changes.
        before = await run_state(nc, "run-1")
        await fake.reply(fake.tasks[0])
        await asyncio.sleep(1.0)
        after = await run_state(nc, "run-1")
    assert state.status is RunStatus.COMPLETED, state.error
    assert state.steps["a"].attempt == 2
    assert state.result == {"v": 1}
    assert fake.attempts() == Counter({("a", 1): 1, ("a", 2): 1})
    assert (stops[0].step_id, stops[0].attempt, stops[0].reason.code) == ("a", 1, "timed_out")
    assert before is not None
    assert after is not None
    assert after[1] == before[1]
    events = await run_events(nc, "run-1")
    assert kinds(events) == [
        "run.started::",
        "step.dispatched:a:1",
        "step.failed:a:1",
        "step.dispatched:a:2",
        "step.completed:a:2",
        "run.completed::",
    ]
    failed = events[2]
    assert failed.error.code is ErrorCode.TIMED_OUT
    assert failed.retry_at is not None
    info = await nc.jetstream().consumer_info(
        subjects.STREAM_TIMERS, subjects.Durable.EXECUTOR_TIMERS
    )
    assert info.num_ack_pending == 0


async def test_the_deadline_fails_the_run_and_stops_its_steps(
    nats_url: str, nc: Client, msgs
) -> None:
    plan = msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]})
    service = create_service(settings(nats_url), install_telemetry=False)
    async with (
        running(service),
        agent(nc, lambda task: "silent") as fake,
        cancel_broadcasts(nc) as stops,
    ):
        await send_plan(nc, msgs.plan_created(plan, deadline_s=1.0))
        state = await wait_terminal(nc, "run-1")
        await wait_for(lambda: _true(len(stops) == 1), what="the stop broadcast")
    assert state.status is RunStatus.FAILED
    assert state.error is not None
    assert state.error.code is ErrorCode.DEADLINE_EXCEEDED
    assert (state.steps["a"].status, state.steps["b"].status) == (
        StepStatus.CANCELED,
        StepStatus.SKIPPED,
    )
    assert (stops[0].step_id, stops[0].reason.code) == ("a", "deadline_exceeded")
    assert fake.attempts() == Counter({("a", 1): 1})


async def test_cancel_then_restart_reuses_what_completed(nats_url: str, nc: Client, msgs) -> None:
    plan = msgs.plan(
        {"id": "a", "input": {"v": 2}},
        {"id": "b", "tool": "square", "input": {"n": "{{steps.a.output.v}}"}},
    )
    held = {"b": True}

    def script(task: DispatchTask) -> Reply:
        return "silent" if task.step_id == "b" and held["b"] else "answer"

    service = create_service(settings(nats_url), install_telemetry=False)
    async with running(service), agent(nc, script) as fake, cancel_broadcasts(nc) as stops:
        await send_plan(nc, msgs.plan_created(plan))
        await wait_for(lambda: _true(("b", 1) in fake.attempts()), what="b dispatched")
        await command(nc, msgs.cancel(3), subjects.RUNS_CANCEL)
        canceled = await wait_terminal(nc, "run-1")
        assert canceled.status is RunStatus.CANCELED
        await wait_for(lambda: _true(len(stops) == 1), what="the stop broadcast")
        held["b"] = False
        restart = RestartRun(
            message_id=control_message_id("run-1", "restart", canceled.seq),
            run_id="run-1",
            tenant="acme",
            if_seq=canceled.seq,
        )
        await command(nc, restart, subjects.RUNS_RESTART)
        await wait_for(lambda: _status(nc, RunStatus.COMPLETED), what="the restarted run")
        state = await wait_terminal(nc, "run-1")
    assert state.result == 4
    assert state.restarts == 1
    assert fake.attempts() == Counter({("a", 1): 1, ("b", 1): 1, ("b", 2): 1})
    events = await run_events(nc, "run-1")
    assert sorted(e.seq for e in events) == list(range(1, len(events) + 1))
    assert kinds(events)[-6:] == [
        "step.canceled:b:1",
        "run.canceled::",
        "run.restarted::",
        "step.dispatched:b:2",
        "step.completed:b:2",
        "run.completed::",
    ]


async def test_two_executors_with_retries_and_timeouts_end_each_step_once(
    nats_url: str, nc: Client, msgs
) -> None:
    """Attempt 1 of every step fails (odd steps) or times out (even steps); attempt 2
    answers. Two executor replicas share results, timers and dispatches."""
    leaves = [f"s{i}" for i in range(12)]
    retry = {"initial_delay_s": 0.1, "max_delay_s": 0.5}
    plan = msgs.plan(
        *(
            {"id": sid, "tool": "square", "input": {"n": i}, "timeout_s": 2.0, "retry": retry}
            for i, sid in enumerate(leaves)
        ),
        {
            "id": "total",
            "tool": "sum",
            "input": {"values": [f"{{{{steps.{sid}.output}}}}" for sid in leaves]},
        },
    )

    def script(task: DispatchTask) -> Reply:
        if task.attempt > 1 or task.step_id == "total":
            return "answer"
        return "silent" if int(task.step_id[1:]) % 2 == 0 else "fail"

    first = create_service(settings(nats_url), install_telemetry=False)
    second = create_service(settings(nats_url), install_telemetry=False)
    async with running(first), running(second), agent(nc, script) as fake:
        await send_plan(nc, msgs.plan_created(plan))
        state = await wait_terminal(nc, "run-1", limit_s=60)
        await asyncio.sleep(1.0)  # time for a wrong extra dispatch or event to show up
    assert state.status is RunStatus.COMPLETED, state.error
    assert state.result == sum(i * i for i in range(12))
    expected = Counter({(sid, n): 1 for sid in leaves for n in (1, 2)}) + Counter({("total", 1): 1})
    assert fake.attempts() == expected, "every attempt dispatched exactly once"
    events = await run_events(nc, "run-1")
    assert sorted(e.seq for e in events) == list(range(1, len(events) + 1))
    per_kind = Counter((e.type, getattr(e, "step_id", None)) for e in events)
    for sid in leaves:
        assert per_kind[("step.dispatched", sid)] == 2
        assert per_kind[("step.failed", sid)] == 1
        assert per_kind[("step.completed", sid)] == 1
    assert per_kind[("run.completed", None)] == 1
    timeouts = [e for e in events if e.type == "step.failed" and e.error.code == "timed_out"]
    assert len(timeouts) == 6


async def _status(nc: Client, status: RunStatus) -> bool:
    found = await run_state(nc, "run-1")
    return found is not None and found[0].status is status


async def _true(value: bool) -> bool:
    return value
