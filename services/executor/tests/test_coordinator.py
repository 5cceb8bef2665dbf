"""The compare-and-set loop over the in-memory store (same semantics as the KV bucket)."""

from __future__ import annotations

import asyncio

import pytest

from pulse_broker import KvConflict
from pulse_contracts import (
    DispatchTask,
    RetryDue,
    RunEventBase,
    RunStatus,
    StepStatus,
    StepTimeoutDue,
)
from pulse_executor import EffectsNotPublishedError, RunCoordinator, StateContentionError
from pulse_executor.adapters import InMemoryRunStore
from pulse_executor.domain import Effect, PendingTimer


class RecordingPublisher:
    """Records effects; can check what the store holds at the moment of publishing."""

    def __init__(self, store: InMemoryRunStore | None = None, fail_first: int = 0) -> None:
        self.effects: list[Effect] = []
        self.store = store
        self.seen_status: list[RunStatus] = []
        self.fail_first = fail_first

    async def publish(self, effect: Effect) -> None:
        await asyncio.sleep(0)
        if self.fail_first > 0:
            self.fail_first -= 1
            raise ConnectionError("nats went away")
        if self.store is not None:
            stored = await self.store.load(effect.run_id)
            assert stored is not None, "an effect was published before its state was stored"
            self.seen_status.append(stored.value.status)
        self.effects.append(effect)

    def dispatches(self) -> list[str]:
        return [e.step_id for e in self.effects if isinstance(e, DispatchTask)]

    def events(self) -> list[RunEventBase]:
        return [e for e in self.effects if isinstance(e, RunEventBase)]


class AlwaysConflicting(InMemoryRunStore):
    async def update(self, run_id, state, revision) -> int:
        raise KvConflict(run_id)

    async def create(self, run_id, state) -> int:
        raise KvConflict(run_id)


async def test_effects_are_published_only_after_the_state_is_stored(msgs) -> None:
    store = InMemoryRunStore()
    publisher = RecordingPublisher(store)
    coordinator = RunCoordinator(store, publisher)
    await coordinator.start(msgs.plan_created(msgs.plan({"id": "a"}, {"id": "b"})))
    assert sorted(publisher.dispatches()) == ["a", "b"]
    assert set(publisher.seen_status) == {RunStatus.WORKING}


async def test_concurrent_results_of_one_run_are_all_recorded(msgs) -> None:
    store = InMemoryRunStore()
    publisher = RecordingPublisher()
    coordinator = RunCoordinator(store, publisher, backoff_ms=0.1)
    leaves = [f"w{i}" for i in range(12)]
    plan = msgs.plan(*({"id": sid} for sid in leaves), {"id": "join", "depends_on": leaves})
    await coordinator.start(msgs.plan_created(plan))
    writes_before = store.writes
    outcomes = await asyncio.gather(
        *(coordinator.record(msgs.finished(sid, sid)) for sid in leaves)
    )
    assert all(t.changed for t in outcomes)
    assert store.conflicts > 0, "the results really raced"
    assert store.writes - writes_before == len(leaves)
    stored = await store.load("run-1")
    assert stored is not None
    state = stored.value
    assert all(state.steps[sid].status is StepStatus.COMPLETED for sid in leaves)
    assert publisher.dispatches().count("join") == 1
    events = publisher.events()
    assert sorted(e.seq for e in events) == list(range(1, state.seq + 1))


async def test_the_same_result_twice_at_once_is_recorded_once(msgs) -> None:
    store = InMemoryRunStore()
    publisher = RecordingPublisher()
    coordinator = RunCoordinator(store, publisher, backoff_ms=0.1)
    plan = msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]})
    await coordinator.start(msgs.plan_created(plan))
    first, second = await asyncio.gather(
        coordinator.record(msgs.finished("a", 1)), coordinator.record(msgs.finished("a", 1))
    )
    assert sorted([first.outcome, second.outcome]) == ["changed", "duplicate"]
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.steps["b"].attempt == 1
    completed = [e for e in publisher.events() if e.type == "step.completed"]
    assert {e.message_id for e in completed} == {completed[0].message_id}
    assert len({e.seq for e in completed}) == 1


async def test_a_crash_before_publishing_heals_on_redelivery(msgs) -> None:
    store = InMemoryRunStore()
    publisher = RecordingPublisher(fail_first=1)
    coordinator = RunCoordinator(store, publisher)
    message = msgs.plan_created(msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]}))
    with pytest.raises(EffectsNotPublishedError) as caught:
        await coordinator.start(message)
    assert caught.value.retryable
    assert caught.value.run_id == "run-1"
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.status is RunStatus.WORKING
    revision = stored.revision
    redelivered = await coordinator.start(message)
    assert redelivered.outcome == "duplicate"
    assert {type(e).__name__ for e in publisher.effects} == {
        "RunStarted",
        "StepDispatched",
        "DispatchTask",
        "StepTimeoutDue",
        "RunDeadlineDue",
    }
    again = await store.load("run-1")
    assert again is not None
    assert again.revision == revision


async def test_endless_contention_hands_the_message_back(msgs) -> None:
    coordinator = RunCoordinator(
        AlwaysConflicting(), RecordingPublisher(), attempts=3, backoff_ms=0.1
    )
    with pytest.raises(StateContentionError) as caught:
        await coordinator.start(msgs.plan_created(msgs.plan({"id": "a"})))
    assert caught.value.retryable
    assert caught.value.run_id == "run-1"


async def test_ignored_messages_write_nothing(msgs) -> None:
    store = InMemoryRunStore()
    publisher = RecordingPublisher()
    coordinator = RunCoordinator(store, publisher)
    t = await coordinator.record(msgs.finished("a", 1, run_id="nobody"))
    assert t.outcome == "ignored"
    assert store.writes == 0
    assert publisher.effects == []


# --- states kept from this replica's own writes -----------------------------------------


async def test_a_run_this_replica_wrote_is_not_read_back(msgs) -> None:
    store = InMemoryRunStore()
    coordinator = RunCoordinator(store, RecordingPublisher())
    await coordinator.start(
        msgs.plan_created(msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]}))
    )
    loads = store.loads
    assert (await coordinator.record(msgs.finished("a", 1))).changed
    assert (await coordinator.record(msgs.finished("b", 2))).changed
    assert store.loads == loads, "both results were decided from the state written here"
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.status is RunStatus.COMPLETED


async def test_a_state_another_replica_changed_is_read_again_after_the_conflict(msgs) -> None:
    store = InMemoryRunStore()
    first, second = (
        RunCoordinator(store, RecordingPublisher()),
        RunCoordinator(store, RecordingPublisher()),
    )
    await first.start(msgs.plan_created(msgs.plan({"id": "a"}, {"id": "b"})))
    assert (await second.record(msgs.finished("a", 1))).changed
    conflicts = store.conflicts
    t = await first.record(msgs.finished("b", 2))  # decided from a stale state first
    assert t.changed
    assert store.conflicts == conflicts + 1
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.status is RunStatus.COMPLETED
    assert stored.value.result == {"a": 1, "b": 2}


async def test_a_message_a_kept_state_would_ignore_is_checked_against_the_store(msgs) -> None:
    """Another replica timed attempt 1 out and dispatched attempt 2: its result counts."""
    store = InMemoryRunStore()
    here, elsewhere = RecordingPublisher(), RecordingPublisher()
    first, second = RunCoordinator(store, here), RunCoordinator(store, elsewhere)
    await first.start(msgs.plan_created(msgs.plan({"id": "a"})))
    (timeout,) = [e for e in here.effects if isinstance(e, StepTimeoutDue)]
    await second.fire(timeout)
    (retry,) = [e for e in elsewhere.effects if isinstance(e, RetryDue)]
    await second.fire(retry)
    t = await first.record(msgs.finished("a", "late but current", attempt=2))
    assert t.changed, t.note
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.result == "late but current"


# --- timers made moot ------------------------------------------------------------------


class Withdrawals:
    def __init__(self, fail: bool = False) -> None:
        self.withdrawn: list[PendingTimer] = []
        self.fail = fail

    async def withdraw(self, timers: tuple[PendingTimer, ...]) -> None:
        if self.fail:
            raise ConnectionError("nats went away")
        self.withdrawn.extend(timers)


async def test_timers_a_change_made_moot_are_withdrawn_after_the_write(msgs) -> None:
    timers = Withdrawals()
    coordinator = RunCoordinator(InMemoryRunStore(), RecordingPublisher(), timers=timers)
    await coordinator.start(msgs.plan_created(msgs.plan({"id": "a"})))
    assert timers.withdrawn == []
    await coordinator.record(msgs.finished("a", 1))
    assert timers.withdrawn == [
        PendingTimer("run-1", "a", 1, "timeout"),
        PendingTimer("run-1", "-", 0, "deadline"),
    ]


async def test_a_failed_withdrawal_does_not_fail_the_message(msgs) -> None:
    publisher = RecordingPublisher()
    coordinator = RunCoordinator(InMemoryRunStore(), publisher, timers=Withdrawals(fail=True))
    await coordinator.start(msgs.plan_created(msgs.plan({"id": "a"})))
    t = await coordinator.record(msgs.finished("a", 1))
    assert t.changed
    assert [e.type for e in publisher.events()][-1] == "run.completed"
