"""The executor's metrics: each applied change counted once, whoever else saw the message."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from pulse_contracts import RetryDue, StepTimeoutDue
from pulse_executor import EffectsNotPublishedError, RunCoordinator
from pulse_executor.adapters import InMemoryRunStore
from pulse_executor.metrics import ExecutorMetrics

from .test_coordinator import RecordingPublisher


class Replica:
    """One executor: its own coordinator and registry, over a store replicas share."""

    def __init__(self, store: InMemoryRunStore, msgs, publisher: RecordingPublisher | None = None):
        self.registry = CollectorRegistry()
        self.publisher = publisher or RecordingPublisher()
        self.coordinator = RunCoordinator(
            store,
            self.publisher,
            backoff_ms=0.1,
            clock=lambda: msgs.now(0),
            metrics=ExecutorMetrics(self.registry),
        )

    def value(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


def total(replicas: list[Replica], name: str, **labels: str) -> float:
    return sum(r.value(name, **labels) for r in replicas)


async def test_a_run_counts_its_steps_statuses_duration_and_queue_wait(msgs) -> None:
    replica = Replica(InMemoryRunStore(), msgs)
    plan = msgs.plan({"id": "a", "tool": "calculator"}, {"id": "b", "depends_on": ["a"]})
    await replica.coordinator.start(msgs.plan_created(plan))
    await replica.coordinator.record(msgs.finished("a", 15))  # started at tick 1
    await replica.coordinator.record(msgs.finished("b", 1))

    value = replica.value
    assert value("pulse_run_status_total", status="working") == 1
    assert value("pulse_run_status_total", status="completed") == 1
    assert value("pulse_run_duration_seconds_count", status="completed") == 1
    assert value("pulse_step_executions_total", tool="calculator", status="completed") == 1
    assert value("pulse_step_executions_total", tool="echo", status="completed") == 1
    # Dispatched at tick 0 (the coordinator's clock), started by the agent at tick 1.
    assert value("pulse_step_queue_wait_seconds_count", tool="calculator") == 1
    assert value("pulse_step_queue_wait_seconds_sum", tool="calculator") == 1.0


async def test_retries_timeouts_failures_and_cancels_are_told_apart(msgs) -> None:
    replica = Replica(InMemoryRunStore(), msgs)
    c = replica.coordinator
    plan = msgs.plan({"id": "a", "timeout_s": 5}, {"id": "b"}, {"id": "c"})
    await c.start(msgs.plan_created(plan))
    await c.record(msgs.finished("b", error="flaky", retryable=True))
    [timeout] = [e for e in replica.publisher.effects if isinstance(e, StepTimeoutDue)][:1]
    await c.fire(timeout)  # a times out, and is retried
    [retry_b] = [e for e in replica.publisher.effects if isinstance(e, RetryDue)][:1]
    await c.fire(retry_b)
    # Final: the run fails; b's second attempt is stopped, a (waiting to retry) just fails.
    await c.record(msgs.finished("c", error="broken"))

    def steps(status: str) -> float:
        return replica.value("pulse_step_executions_total", tool="echo", status=status)

    counts = {status: steps(status) for status in ("retried", "timed_out", "failed", "canceled")}
    assert counts == {"retried": 1, "timed_out": 1, "failed": 1, "canceled": 1}
    assert replica.value("pulse_run_status_total", status="failed") == 1
    assert replica.value("pulse_run_duration_seconds_count", status="failed") == 1


async def test_a_rejected_a_canceled_and_a_restarted_run(msgs) -> None:
    replica = Replica(InMemoryRunStore(), msgs)
    c = replica.coordinator
    await c.reject(msgs.plan_rejected(run_id="nope"))
    await c.start(msgs.plan_created(msgs.plan({"id": "a"})))
    await c.cancel(msgs.cancel())
    await c.restart(msgs.restart())
    assert replica.value("pulse_run_status_total", status="rejected") == 1
    assert replica.value("pulse_run_status_total", status="canceled") == 1
    assert replica.value("pulse_run_status_total", status="working") == 2  # start and restart
    assert replica.value("pulse_step_executions_total", tool="echo", status="canceled") == 1


async def test_two_replicas_racing_on_one_result_count_it_once(msgs) -> None:
    store = InMemoryRunStore()
    replicas = [Replica(store, msgs), Replica(store, msgs)]
    plan = msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]})
    await replicas[0].coordinator.start(msgs.plan_created(plan))
    outcomes = await asyncio.gather(
        *(r.coordinator.record(msgs.finished("a", 1)) for r in replicas)
    )
    assert sorted(t.outcome for t in outcomes) == ["changed", "duplicate"]
    assert total(replicas, "pulse_step_executions_total", tool="echo", status="completed") == 1
    assert total(replicas, "pulse_step_queue_wait_seconds_count", tool="echo") == 1

    # Both replicas also get the plan again (a redelivery): still one run started.
    await asyncio.gather(*(r.coordinator.start(msgs.plan_created(plan)) for r in replicas))
    assert total(replicas, "pulse_run_status_total", status="working") == 1


async def test_a_redelivery_after_a_failed_publish_counts_nothing_twice(msgs) -> None:
    store = InMemoryRunStore()
    replica = Replica(store, msgs)
    await replica.coordinator.start(msgs.plan_created(msgs.plan({"id": "a"})))
    flaky = Replica(store, msgs, RecordingPublisher(fail_first=1))
    with pytest.raises(EffectsNotPublishedError):
        await flaky.coordinator.record(msgs.finished("a", 1))
    redelivered = await replica.coordinator.record(msgs.finished("a", 1))
    assert redelivered.outcome == "duplicate"
    both = [replica, flaky]
    assert total(both, "pulse_step_executions_total", tool="echo", status="completed") == 1
    assert total(both, "pulse_run_status_total", status="completed") == 1
