"""The subscribers wired by `create_service`, on FastStream's in-memory test broker.

`TestNatsBroker` has no streams, acks or dedupe: these tests show the wiring (subjects,
parsing, the coordinator, publishing) — durability is shown against a real server in
`test_nats_integration.py`.
"""

from __future__ import annotations

import json
import logging

import pytest
from faststream import AsyncAPI
from faststream.nats import JStream, NatsBroker, TestNatsBroker
from nats.js.api import PubAck

from pulse_contracts import (
    RUN_EVENT_ADAPTER,
    DispatchTask,
    Message,
    RunStatus,
    StepStatus,
    StepTimeoutDue,
    subjects,
)
from pulse_executor import Settings, create_service
from pulse_executor.adapters import InMemoryRunStore
from pulse_telemetry import inject_headers


async def send_without_ack(
    broker: NatsBroker,
    message: Message,
    subject: str,
    *,
    stream: str,
    headers: dict[str, str] | None = None,
) -> PubAck:
    """`pulse_broker.publish` minus the ack check: the test broker returns no `PubAck`."""
    all_headers = inject_headers(headers)
    all_headers["Nats-Msg-Id"] = message.message_id
    await broker.publish(
        message.model_dump_json().encode(), subject, headers=all_headers, stream=stream
    )
    return PubAck(stream=stream, seq=0)


@pytest.fixture
def service():
    store = InMemoryRunStore()
    svc = create_service(
        Settings(log_format="text"), store=store, send=send_without_ack, install_telemetry=False
    )
    tasks: list[DispatchTask] = []
    events: list = []

    @svc.broker.subscriber(
        subjects.TASKS_DISPATCH_WILDCARD, stream=JStream(subjects.STREAM_TASKS, declare=False)
    )
    async def agent(task: DispatchTask) -> None:
        tasks.append(task)

    @svc.broker.subscriber(
        subjects.RUN_EVENTS_WILDCARD, stream=JStream(subjects.STREAM_EVENTS, declare=False)
    )
    async def watcher(body: dict) -> None:
        events.append(RUN_EVENT_ADAPTER.validate_python(body))

    return svc, store, tasks, events


async def publish(broker: NatsBroker, message: Message, subject: str, stream: str) -> None:
    await send_without_ack(broker, message, subject, stream=stream)


async def test_a_plan_runs_to_completion_through_the_handlers(service, msgs) -> None:
    svc, store, tasks, events = service
    plan = msgs.plan(
        {"id": "calc", "tool": "calculator", "agent": "math", "input": {"expression": "5*3"}},
        {"id": "note", "tool": "todo_add", "input": {"title": "result {{steps.calc.output}}"}},
    )
    async with TestNatsBroker(svc.broker) as broker:
        await publish(broker, msgs.plan_created(plan), subjects.PLANS_CREATED, subjects.STREAM_RUNS)
        assert [(t.step_id, t.agent) for t in tasks] == [("calc", "math")]
        await publish(
            broker, msgs.finished("calc", 15), subjects.TASKS_RESULT, subjects.STREAM_TASKS
        )
        assert tasks[-1].step_id == "note"
        assert tasks[-1].input == {"title": "result 15"}
        await publish(
            broker, msgs.finished("note", {"id": 1}), subjects.TASKS_RESULT, subjects.STREAM_TASKS
        )

    stored = await store.load("run-1")
    assert stored is not None
    state = stored.value
    assert state.status is RunStatus.COMPLETED
    assert state.result == {"id": 1}
    assert all(s.status is StepStatus.COMPLETED for s in state.steps.values())
    assert state.trace_id is not None
    assert "traceparent" in state.trace_context
    assert [e.type for e in sorted(events, key=lambda e: e.seq)] == [
        "run.started",
        "step.dispatched",
        "step.completed",
        "step.dispatched",
        "step.completed",
        "run.completed",
    ]
    assert sorted(e.seq for e in events) == list(range(1, 7))


async def test_a_redelivered_result_dispatches_nothing_new(service, msgs) -> None:
    svc, store, tasks, _events = service
    plan = msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]})
    async with TestNatsBroker(svc.broker) as broker:
        await publish(broker, msgs.plan_created(plan), subjects.PLANS_CREATED, subjects.STREAM_RUNS)
        await publish(broker, msgs.finished("a", 1), subjects.TASKS_RESULT, subjects.STREAM_TASKS)
        stored = await store.load("run-1")
        await publish(broker, msgs.finished("a", 1), subjects.TASKS_RESULT, subjects.STREAM_TASKS)
        again = await store.load("run-1")
    assert stored is not None
    assert again is not None
    assert again.revision == stored.revision
    # The resend carries the same ids as the first dispatch: JetStream would drop it.
    assert [t.message_id for t in tasks] == [
        "run-1:a:1:dispatch",
        "run-1:b:1:dispatch",
        "run-1:b:1:dispatch",
    ]


async def test_a_rejected_plan_ends_the_run(service, msgs) -> None:
    svc, store, tasks, events = service
    async with TestNatsBroker(svc.broker) as broker:
        await publish(broker, msgs.plan_rejected(), subjects.PLANS_REJECTED, subjects.STREAM_RUNS)
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.status is RunStatus.REJECTED
    assert [e.type for e in events] == ["run.rejected"]
    assert tasks == []


async def test_a_failed_step_fails_the_run(service, msgs) -> None:
    svc, store, _tasks, events = service
    plan = msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]})
    async with TestNatsBroker(svc.broker) as broker:
        await publish(broker, msgs.plan_created(plan), subjects.PLANS_CREATED, subjects.STREAM_RUNS)
        await publish(
            broker, msgs.finished("a", error="boom"), subjects.TASKS_RESULT, subjects.STREAM_TASKS
        )
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.status is RunStatus.FAILED
    assert stored.value.steps["b"].status is StepStatus.SKIPPED
    assert [e.type for e in events][-2:] == ["step.failed", "run.failed"]


def test_the_asyncapi_document_shows_what_the_executor_consumes_and_publishes() -> None:
    svc = create_service(
        Settings(log_format="text"), store=InMemoryRunStore(), install_telemetry=False
    )
    doc = json.loads(AsyncAPI(svc.broker, title="executor").to_specification().to_json())
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert {
        subjects.PLANS_CREATED,
        subjects.PLANS_REJECTED,
        subjects.TASKS_RESULT,
        subjects.dispatch_subject("{agent}"),
        subjects.run_events_subject("{run_id}"),
    } <= addresses
    schemas = set(doc["components"]["schemas"])
    assert {"DispatchTask", "RunStarted", "StepCompleted", "RunCompleted", "RunFailed"} <= schemas


async def fire_timeout(broker: NatsBroker, msgs) -> None:
    """Attempt 1 of step a of run-1 timed out (its 1 s timeout), as the timer fires it."""
    timeout = StepTimeoutDue(
        message_id="run-1:a:1:timeout",
        run_id="run-1",
        tenant="acme",
        step_id="a",
        attempt=1,
        timeout_s=1,
        due_at=msgs.now(6),
    )
    await publish(
        broker, timeout, subjects.timer_fired_subject(timeout.kind), subjects.STREAM_TIMERS
    )


async def test_timers_and_commands_reach_the_coordinator(service, msgs) -> None:
    svc, store, tasks, events = service
    plan = msgs.plan({"id": "a", "timeout_s": 1})
    async with TestNatsBroker(svc.broker) as broker:
        await publish(broker, msgs.plan_created(plan), subjects.PLANS_CREATED, subjects.STREAM_RUNS)
        stored = await store.load("run-1")
        assert stored is not None
        await fire_timeout(broker, msgs)
        stored = await store.load("run-1")
        assert stored is not None
        assert stored.value.steps["a"].status is StepStatus.RETRYING
        await publish(
            broker, msgs.cancel(stored.value.seq), subjects.RUNS_CANCEL, subjects.STREAM_RUNS
        )
        canceled = await store.load("run-1")
        assert canceled is not None
        assert canceled.value.status is RunStatus.CANCELED
        await publish(
            broker, msgs.restart(canceled.value.seq), subjects.RUNS_RESTART, subjects.STREAM_RUNS
        )
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.status is RunStatus.WORKING
    assert [(t.step_id, t.attempt) for t in tasks] == [("a", 1), ("a", 2)]
    assert [e.type for e in sorted(events, key=lambda e: e.seq)] == [
        "run.started",
        "step.dispatched",
        "step.failed",
        "run.canceled",
        "run.restarted",
        "step.dispatched",
    ]


def test_the_asyncapi_document_shows_timers_and_commands() -> None:
    svc = create_service(
        Settings(log_format="text"), store=InMemoryRunStore(), install_telemetry=False
    )
    doc = json.loads(AsyncAPI(svc.broker, title="executor").to_specification().to_json())
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert {
        subjects.TIMERS_FIRED_WILDCARD,
        subjects.RUNS_CANCEL,
        subjects.RUNS_RESTART,
        subjects.task_cancel_subject("{run_id}"),
    } <= addresses
    schemas = set(doc["components"]["schemas"])
    assert {"StepTimeoutDue", "RetryDue", "RunDeadlineDue", "CancelRun", "RestartRun"} <= schemas


def sample(svc, name: str, **labels: str) -> float:
    return svc.telemetry.registry.get_sample_value(name, labels) or 0.0


async def test_handlers_count_runs_and_steps_once_even_when_redelivered(
    service, msgs, caplog: pytest.LogCaptureFixture
) -> None:
    svc, _store, _tasks, _events = service
    caplog.set_level(logging.INFO, logger="pulse_executor")
    plan = msgs.plan({"id": "a", "tool": "calculator"}, {"id": "b", "depends_on": ["a"]})
    async with TestNatsBroker(svc.broker) as broker:
        await publish(broker, msgs.plan_created(plan), subjects.PLANS_CREATED, subjects.STREAM_RUNS)
        for _ in range(2):  # the second delivery of each is a duplicate
            await publish(
                broker, msgs.finished("a", 1), subjects.TASKS_RESULT, subjects.STREAM_TASKS
            )
        await publish(broker, msgs.finished("b", 2), subjects.TASKS_RESULT, subjects.STREAM_TASKS)
        await publish(broker, msgs.plan_created(plan), subjects.PLANS_CREATED, subjects.STREAM_RUNS)

    assert sample(svc, "pulse_run_status_total", status="working") == 1
    assert sample(svc, "pulse_run_status_total", status="completed") == 1
    assert sample(svc, "pulse_run_duration_seconds_count", status="completed") == 1
    for tool in ("calculator", "echo"):
        assert sample(svc, "pulse_step_executions_total", tool=tool, status="completed") == 1
        assert sample(svc, "pulse_step_queue_wait_seconds_count", tool=tool) == 1

    # One INFO line per state change, each naming its own step (a's result dispatched b).
    lines = [r for r in caplog.records if r.levelno == logging.INFO and r.name.startswith("pulse_")]
    assert [(r.getMessage(), getattr(r, "step_id", None)) for r in lines] == [
        ("run started", None),
        ("step dispatched", "a"),
        ("step completed", "a"),
        ("step dispatched", "b"),
        ("step completed", "b"),
        ("run completed", None),
    ]


async def test_handlers_count_failures_timeouts_cancels_and_restarts(service, msgs) -> None:
    svc, _store, _tasks, _events = service
    async with TestNatsBroker(svc.broker) as broker:
        await publish(
            broker, msgs.plan_rejected("r-no"), subjects.PLANS_REJECTED, subjects.STREAM_RUNS
        )
        failing = msgs.plan({"id": "x"})
        await publish(
            broker,
            msgs.plan_created(failing, "r-bad"),
            subjects.PLANS_CREATED,
            subjects.STREAM_RUNS,
        )
        await publish(
            broker,
            msgs.finished("x", error="boom", run_id="r-bad"),
            subjects.TASKS_RESULT,
            subjects.STREAM_TASKS,
        )
        await publish(
            broker,
            msgs.plan_created(msgs.plan({"id": "a", "timeout_s": 1})),
            subjects.PLANS_CREATED,
            subjects.STREAM_RUNS,
        )
        await fire_timeout(broker, msgs)
        await publish(broker, msgs.cancel(3), subjects.RUNS_CANCEL, subjects.STREAM_RUNS)
        await publish(broker, msgs.restart(4), subjects.RUNS_RESTART, subjects.STREAM_RUNS)

    runs = {
        status: sample(svc, "pulse_run_status_total", status=status)
        for status in ("working", "completed", "failed", "canceled", "rejected")
    }
    assert runs == {"working": 3, "completed": 0, "failed": 1, "canceled": 1, "rejected": 1}
    assert sample(svc, "pulse_step_executions_total", tool="echo", status="failed") == 1
    assert sample(svc, "pulse_step_executions_total", tool="echo", status="timed_out") == 1
    assert sample(svc, "pulse_run_duration_seconds_count", status="rejected") == 1
