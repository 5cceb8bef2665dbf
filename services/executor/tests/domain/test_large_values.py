"""Large outputs in the executor's domain: kept by reference, passed on by reference,
read only when a reference needs the value, and large inputs sent to the object store."""

from __future__ import annotations

import pytest

from pulse_contracts import (
    BlobRef,
    DispatchTask,
    JsonValue,
    RunCompleted,
    StepCompleted,
    StepDispatched,
    StepStatus,
    UnresolvedReference,
    blob_ref,
    encode_blob,
)
from pulse_executor.domain import (
    BlobsNeeded,
    ExecutorRunState,
    ReadBlobs,
    RunDefaults,
    StepOutputs,
    Transition,
    implied_effects,
    prepare_input,
    record_result,
    restart_run,
    start_run,
)

BIG = "x" * 5000
BIG_REF = blob_ref("run-1/a/1/output/abc", encode_blob(BIG))
LIMIT = 1024


def stored(key: str, value: JsonValue) -> BlobRef:
    return blob_ref(key, encode_blob(value))


def outputs(
    read: dict[str, JsonValue] | None = None, missing: frozenset[str] = frozenset()
) -> StepOutputs:
    return StepOutputs(
        inline={"small": {"n": 1}},
        stored={"a": BIG_REF, "doc": DOC_REF},
        read=ReadBlobs(read or {}, missing),
    )


DOC = {"title": "t", "body": "y" * 4000}
DOC_REF = stored("run-1/doc/1/output/def", DOC)


def prepare(step_input: dict[str, JsonValue], out: StepOutputs, limit: int = LIMIT):
    return prepare_input(step_input, out, run_id="run-1", step_id="b", limit_bytes=limit)


def test_a_whole_stored_output_is_passed_on_by_reference_without_reading_it() -> None:
    got = prepare({"text": "{{steps.a.output}}", "times": 2}, outputs())
    assert got.input == {"text": None, "times": 2}
    assert got.refs == {"text": BIG_REF}
    assert got.uploads == ()


@pytest.mark.parametrize(
    "value", ["{{steps.doc.output.title}}", "about {{steps.a.output}}", ["{{steps.a.output}}"]]
)
def test_other_references_to_stored_outputs_ask_for_their_values(value: JsonValue) -> None:
    with pytest.raises(BlobsNeeded) as need:
        prepare({"v": value, "w": "{{steps.doc.output.body}}"}, outputs())
    keys = {ref.key for ref in need.value.refs}
    assert DOC_REF.key in keys
    assert (BIG_REF.key in keys) == ("a.output" in str(value))


def test_a_path_into_a_read_output_resolves_inline() -> None:
    got = prepare({"title": "{{steps.doc.output.title}}"}, outputs({DOC_REF.key: DOC}))
    assert (got.input, got.refs, got.uploads) == ({"title": "t"}, {}, ())


def test_a_large_resolved_field_goes_to_the_object_store_by_its_content() -> None:
    out = outputs({BIG_REF.key: BIG})
    first = prepare({"prompt": "summarise {{steps.a.output}}", "n": 3}, out)
    again = prepare({"prompt": "summarise {{steps.a.output}}", "n": 3}, out)
    assert first == again  # deciding again gives the same reference
    assert first.input == {"prompt": None, "n": 3}
    [upload] = first.uploads
    assert first.refs == {"prompt": upload.ref}
    assert upload.data == encode_blob("summarise " + BIG)
    assert upload.ref.key == f"run-1/b/input/{upload.ref.sha256}"


def test_the_largest_fields_go_first_until_the_input_fits() -> None:
    got = prepare({"a": "a" * 600, "b": "b" * 700, "c": "c" * 10}, StepOutputs(inline={}))
    assert set(got.refs) == {"b"}
    assert got.input == {"a": "a" * 600, "b": None, "c": "c" * 10}
    got = prepare({"a": "a" * 600, "b": "b" * 700}, StepOutputs(inline={}), limit=100)
    assert set(got.refs) == {"a", "b"}


def test_a_stored_output_that_is_gone_does_not_resolve() -> None:
    with pytest.raises(UnresolvedReference, match="no longer in the object store"):
        prepare({"t": "{{steps.doc.output.title}}"}, outputs(missing=frozenset({DOC_REF.key})))


# --- through the transitions -------------------------------------------------------------


def _changed(t: Transition) -> ExecutorRunState:
    assert t.changed, t.note
    assert t.state is not None
    return t.state


def _stored_result(msgs, step_id: str, ref: BlobRef):
    return msgs.finished(step_id).model_copy(update={"output": None, "output_ref": ref})


def _start(msgs, *steps: dict[str, JsonValue]) -> ExecutorRunState:
    defaults = RunDefaults(large_value_bytes=LIMIT)
    return _changed(
        start_run(None, msgs.plan_created(msgs.plan(*steps)), now=msgs.now(), defaults=defaults)
    )


def test_a_stored_output_is_recorded_by_reference_and_passed_on(msgs) -> None:
    state = _start(msgs, {"id": "a"}, {"id": "b", "input": {"text": "{{steps.a.output}}"}})
    assert state.large_value_bytes == LIMIT
    t = record_result(state, _stored_result(msgs, "a", BIG_REF), now=msgs.now(3))
    state = _changed(t)
    assert (state.steps["a"].output, state.steps["a"].output_ref) == (None, BIG_REF)
    [completed] = [e for e in t.effects if isinstance(e, StepCompleted)]
    assert (completed.output, completed.output_ref) == (None, BIG_REF)
    [task] = [e for e in t.effects if isinstance(e, DispatchTask)]
    assert (task.input, task.input_refs) == ({"text": None}, {"text": BIG_REF})
    [sent] = [e for e in t.effects if isinstance(e, StepDispatched)]
    assert sent.input_refs == {"text": BIG_REF}
    # A redelivered dispatch is rebuilt from the state with the same reference.
    rebuilt = [e for e in implied_effects(state, 1) if isinstance(e, DispatchTask)]
    assert [e.input_refs for e in rebuilt] == [{"text": BIG_REF}]


def test_a_step_needing_a_stored_value_waits_for_it_to_be_read(msgs) -> None:
    state = _start(msgs, {"id": "a"}, {"id": "b", "input": {"p": "about {{steps.a.output}}"}})
    result = _stored_result(msgs, "a", BIG_REF)
    with pytest.raises(BlobsNeeded) as need:
        record_result(state, result, now=msgs.now(3))
    assert need.value.refs == (BIG_REF,)
    t = record_result(state, result, now=msgs.now(3), read=ReadBlobs({BIG_REF.key: BIG}))
    [task] = [e for e in t.effects if isinstance(e, DispatchTask)]
    assert task.input == {"p": None}
    [upload] = t.uploads
    assert task.input_refs == {"p": upload.ref}
    assert upload.data == encode_blob("about " + BIG)


def test_a_large_sink_is_the_result_by_reference(msgs) -> None:
    state = _start(msgs, {"id": "a"}, {"id": "s"})
    state = _changed(record_result(state, _stored_result(msgs, "a", BIG_REF), now=msgs.now(3)))
    t = record_result(state, msgs.finished("s", 7), now=msgs.now(4))
    state = _changed(t)
    assert state.result == {"a": None, "s": 7}
    assert state.result_refs == {"a": BIG_REF}
    [done] = [e for e in t.effects if isinstance(e, RunCompleted)]
    assert done.result_refs == {"a": BIG_REF}


def test_a_restart_passes_a_stored_output_on_again(msgs) -> None:
    state = _start(msgs, {"id": "a"}, {"id": "b", "input": {"text": "{{steps.a.output}}"}})
    state = _changed(record_result(state, _stored_result(msgs, "a", BIG_REF), now=msgs.now(3)))
    state = _changed(record_result(state, msgs.finished("b", error="boom"), now=msgs.now(4)))
    assert state.steps["b"].status is StepStatus.FAILED
    t = restart_run(state, msgs.restart(state.seq), now=msgs.now(5))
    [task] = [e for e in t.effects if isinstance(e, DispatchTask)]
    assert (task.step_id, task.input_refs) == ("b", {"text": BIG_REF})
    assert _changed(t).steps["a"].output_ref == BIG_REF
