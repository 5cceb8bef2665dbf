"""Values carried by reference go back where the archive keeps them."""

from __future__ import annotations

from collections.abc import Callable

from pulse_archiver.domain import History, fold, refs_of
from pulse_archiver.domain.stored import with_result
from pulse_contracts import (
    BlobRef,
    JsonValue,
    RunCompleted,
    RunEvent,
    StepCompleted,
    StepDispatched,
    blob_ref,
    encode_blob,
)

RunFactory = Callable[..., list[RunEvent]]
BIG = "x" * 300_000
REF = blob_ref("run-1/s1/1/output/k", encode_blob(BIG))
SUM_REF = blob_ref("run-1/s2/1/output/k", encode_blob({"sum": BIG}))


def by_reference(events: list[RunEvent]) -> list[RunEvent]:
    """The run with s1's output, s2's input from it, and the result stored by reference."""
    out: list[RunEvent] = []
    for e in events:
        if isinstance(e, StepCompleted) and e.step_id == "s1":
            e = e.model_copy(update={"output": None, "output_ref": REF})
        elif isinstance(e, StepCompleted) and e.step_id == "s2":
            e = e.model_copy(update={"output": None, "output_ref": SUM_REF})
        elif isinstance(e, StepDispatched) and e.step_id == "s2":
            e = e.model_copy(
                update={"input": {"expression": None}, "input_refs": {"expression": REF}}
            )
        elif isinstance(e, RunCompleted):
            e = e.model_copy(update={"result": None, "result_refs": {"s2": SUM_REF}})
        out.append(e)
    return out


def test_which_references_an_event_has(make_run: RunFactory) -> None:
    refs = {
        e.type + ":" + getattr(e, "step_id", "-"): refs_of(e)
        for e in by_reference(make_run(steps=2, retry=False))
    }
    assert refs["step.completed:s1"] == [REF]
    assert refs["step.dispatched:s2"] == [REF]
    assert refs["run.completed:-"] == [SUM_REF]
    assert refs["step.dispatched:s1"] == []


def test_the_archive_keeps_the_values(make_run: RunFactory) -> None:
    history = History()
    values: dict[str, JsonValue] = {REF.key: BIG, SUM_REF.key: {"sum": BIG}}
    for event in by_reference(make_run(steps=2, retry=False)):
        history.record(event, values)
    archived = history.get("run-1")
    assert archived is not None
    steps = {s.step_id: s for s in archived.steps}
    assert steps["s1"].output == BIG
    assert steps["s2"].input == {"expression": BIG}
    assert steps["s2"].output == {"sum": BIG}
    assert archived.run.result == {"sum": BIG}


def test_a_value_that_could_not_be_read_is_null(make_run: RunFactory) -> None:
    [archived] = fold(by_reference(make_run(steps=2, retry=False))).values()
    assert {s.step_id: s.output for s in archived.steps}["s1"] is None


def test_a_result_with_several_sinks_gets_each_stored_one() -> None:
    ref: BlobRef = REF
    event = RunCompleted(
        message_id="m",
        run_id="run-1",
        tenant="acme",
        seq=9,
        result={"a": None, "b": 2},
        result_refs={"a": ref},
    )
    assert with_result(event, {ref.key: "big"}) == {"a": "big", "b": 2}
    assert with_result(event, {}) == {"a": None, "b": 2}
