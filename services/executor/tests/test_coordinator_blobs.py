"""The coordinator reads stored outputs a transition needs and writes the values it moves
to the object store before the state that refers to them."""

from __future__ import annotations

from pulse_broker import InMemoryBlobStore
from pulse_contracts import BlobRef, DispatchTask, RunStatus, StepStatus
from pulse_executor import RunCoordinator
from pulse_executor.adapters import InMemoryRunStore
from pulse_executor.domain import Effect, RunDefaults

BIG = "x" * 5000


class Recorder:
    def __init__(self, store: InMemoryRunStore, blobs: InMemoryBlobStore) -> None:
        self.effects: list[Effect] = []
        self.store = store
        self.blobs = blobs

    async def publish(self, effect: Effect) -> None:
        if isinstance(effect, DispatchTask):
            for ref in effect.input_refs.values():
                assert ref.key in self.blobs.objects, "dispatched before its input was stored"
        self.effects.append(effect)

    def dispatched(self, step_id: str) -> DispatchTask:
        return next(e for e in self.effects if isinstance(e, DispatchTask) and e.step_id == step_id)


async def _setup(msgs, *steps):
    store, blobs = InMemoryRunStore(), InMemoryBlobStore()
    recorder = Recorder(store, blobs)
    coordinator = RunCoordinator(
        store, recorder, blobs=blobs, defaults=RunDefaults(large_value_bytes=1024)
    )
    await coordinator.start(msgs.plan_created(msgs.plan(*steps)))
    return coordinator, store, blobs, recorder


def _stored(msgs, step_id: str, ref: BlobRef):
    return msgs.finished(step_id).model_copy(update={"output": None, "output_ref": ref})


async def test_an_embedded_stored_output_is_read_once_and_its_large_input_stored(msgs) -> None:
    coordinator, store, blobs, recorder = await _setup(
        msgs,
        {"id": "a"},
        {"id": "b", "input": {"p": "about {{steps.a.output}}"}},
        {"id": "c", "input": {"t": "{{steps.a.output}}"}},
    )
    ref = await blobs.put_value("run-1/a/1/output/k", BIG)
    await coordinator.record(_stored(msgs, "a", ref))
    assert blobs.reads == 1  # b needed the value; c gets the reference
    b, c = recorder.dispatched("b"), recorder.dispatched("c")
    assert c.input_refs == {"t": ref}
    [b_ref] = b.input_refs.values()
    assert b_ref.key.startswith("run-1/b/input/")
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.steps["b"].input_refs == {"p": b_ref}


async def test_a_stored_output_that_is_gone_fails_the_step_that_needs_it(msgs) -> None:
    coordinator, store, blobs, _ = await _setup(
        msgs, {"id": "a"}, {"id": "b", "input": {"p": "{{steps.a.output.title}}"}}
    )
    ref = await blobs.put_value("run-1/a/1/output/k", {"title": "t"})
    blobs.objects.clear()
    await coordinator.record(_stored(msgs, "a", ref))
    stored = await store.load("run-1")
    assert stored is not None
    assert stored.value.status is RunStatus.FAILED
    step = stored.value.steps["b"]
    assert step.status is StepStatus.FAILED
    assert step.error is not None
    assert step.error.code == "unresolved_reference"
