"""The compare-and-set loop over the in-memory store (same semantics as the KV bucket)."""

from __future__ import annotations

import asyncio

import pytest

from pulse_broker import KvConflict
from pulse_contracts import DispatchTask, RunEventBase, RunStatus, StepStatus
from pulse_executor import EffectsNotPublishedError, RunCoordinator, StateContentionError
from pulse_executor.adapters import InMemoryRunStore
from pulse_executor.domain import Effect


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
