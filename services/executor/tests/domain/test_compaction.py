"""The run document stays within its budget however many medium-sized values it holds."""

from __future__ import annotations

from pulse_contracts import RunCompleted, encode_blob
from pulse_executor.domain import ExecutorRunState, RunDefaults, record_result, start_run
from pulse_executor.domain.compaction import MIN_MOVED_BYTES, compact

MEDIUM = 100_000  # below the 256 KiB limit: each travels inline on its own
SINKS = [f"s{i}" for i in range(8)]


def _run(msgs, budget: int = 512 * 1024) -> ExecutorRunState:
    plan = msgs.plan(*({"id": sid} for sid in SINKS))
    t = start_run(
        None,
        msgs.plan_created(plan),
        now=msgs.now(),
        defaults=RunDefaults(state_budget_bytes=budget),
    )
    assert t.state is not None
    return t.state


def test_a_small_run_is_left_alone(msgs) -> None:
    state = _run(msgs)
    assert compact(state) == []


def test_many_medium_outputs_move_until_the_run_fits(msgs) -> None:
    state = _run(msgs)
    uploads = []
    for i, sid in enumerate(SINKS):
        t = record_result(state, msgs.finished(sid, str(i) * MEDIUM), now=msgs.now(3 + i))
        assert t.state is not None
        state = t.state
        uploads.extend(t.uploads)
        assert len(state.model_dump_json().encode()) <= state.state_budget_bytes
    assert state.status.value == "completed"
    moved = {sid for sid in SINKS if state.steps[sid].output_ref is not None}
    assert moved
    assert moved != set(SINKS)
    for upload in uploads:
        sid = upload.ref.key.split("/")[1]
        assert upload.ref.key == f"run-1/{sid}/1/output/{upload.ref.sha256}"
        assert upload.data == encode_blob(str(SINKS.index(sid)) * MEDIUM)
    assert isinstance(state.result, dict)
    assert {sid for sid, v in state.result.items() if v is None} == moved
    assert set(state.result_refs) == moved
    [done] = [e for e in t.effects if isinstance(e, RunCompleted)]
    assert set(done.result_refs) == moved
    assert len(done.model_dump_json().encode()) < 1024 * 1024


def test_compaction_is_deterministic(msgs) -> None:
    def finish() -> list[str]:
        state = _run(msgs, budget=150_000)
        keys = []
        for sid in SINKS[:3]:
            t = record_result(state, msgs.finished(sid, sid * MEDIUM), now=msgs.now(3))
            assert t.state is not None
            state = t.state
            keys += [u.ref.key for u in t.uploads]
        return keys

    assert finish() == finish()
    assert len(finish()) >= 1


def test_tiny_values_never_move(msgs) -> None:
    state = _run(msgs, budget=1)
    t = record_result(state, msgs.finished("s0", "x" * (MIN_MOVED_BYTES - 10)), now=msgs.now(3))
    assert t.uploads == ()
