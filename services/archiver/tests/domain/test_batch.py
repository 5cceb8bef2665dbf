"""Rows of a batch of events: written in batches, they end as if written one event at a time."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from pulse_archiver.domain import (
    RUN_RULES,
    STEP_RULES,
    ArchivedRun,
    RunRow,
    StepRow,
    associative,
    batch_rows,
    fold,
    merge,
    order_steps,
    project,
)
from pulse_archiver.domain.merge import FILL, GREATEST, KEY, Newest, NewestPresent
from pulse_contracts import RunEvent, StepCompleted, StepDispatched, StepStatus

RunFactory = Callable[..., list[RunEvent]]


def _written_in_batches(batches: Sequence[Sequence[RunEvent]]) -> dict[str, ArchivedRun]:
    """What the archive holds after writing each batch as PostgreSQL does: every row of the
    batch merged into the stored one, in the batch's order; events seen before skipped."""
    seen: set[str] = set()
    runs: dict[str, RunRow] = {}
    steps: dict[tuple[str, str], StepRow] = {}
    for batch in batches:
        new: list[RunEvent] = []
        for event in batch:
            if event.message_id not in seen:
                seen.add(event.message_id)
                new.append(event)
        rows = batch_rows(project(e) for e in new)
        for run in rows.runs:
            stored_run = runs.get(run.run_id)
            runs[run.run_id] = run if stored_run is None else merge(stored_run, run)
        for step in rows.steps:
            key = (step.run_id, step.step_id)
            stored_step = steps.get(key)
            steps[key] = step if stored_step is None else merge(stored_step, step)
    return {
        run_id: ArchivedRun(
            run, order_steps(run.plan, [s for (r, _), s in steps.items() if r == run_id])
        )
        for run_id, run in runs.items()
    }


def _batches(events: list[RunEvent], rng: random.Random) -> list[list[RunEvent]]:
    batches: list[list[RunEvent]] = []
    rest = list(events)
    while rest:
        size = rng.randint(1, 8)
        batches.append(rest[:size])
        del rest[:size]
    return batches


def test_runs_may_be_merged_ahead_and_steps_may_not() -> None:
    assert associative(RUN_RULES)
    assert not associative(STEP_RULES)  # `input` is NewestPresent("attempt")
    # "Newest" is associative only when its guard only grows.
    assert associative({"k": KEY, "v": Newest("seq"), "seq": GREATEST})
    assert not associative({"k": KEY, "v": Newest("seq"), "seq": FILL})
    assert not associative({"k": KEY, "v": NewestPresent("seq"), "seq": GREATEST})


def test_a_batch_writes_each_run_once_and_every_step_row_in_order(
    make_run: RunFactory,
) -> None:
    second = make_run("run-2", steps=2, retry=False)
    first = make_run("run-1", steps=3, retry=True)
    rows = batch_rows(project(e) for e in second + first)
    assert [r.run_id for r in rows.runs] == ["run-1", "run-2"]
    assert rows.runs[0] == fold(first)["run-1"].run
    keys = [(s.run_id, s.step_id) for s in rows.steps]
    assert keys == sorted(keys)
    s1 = [s for s in rows.steps if (s.run_id, s.step_id) == ("run-1", "s1")]
    # pending, dispatched 1, failed 1, dispatched 2, completed 2: in the order of the events
    assert [(s.status, s.attempt) for s in s1] == [
        (StepStatus.PENDING, 0),
        (StepStatus.DISPATCHED, 1),
        (StepStatus.FAILED, 1),
        (StepStatus.DISPATCHED, 2),
        (StepStatus.COMPLETED, 2),
    ]


def test_batches_of_any_size_give_the_rows_of_one_event_at_a_time(
    make_run: RunFactory,
) -> None:
    events = make_run(steps=5, retry=True) + make_run("run-2", steps=3, retry=True)
    expected = fold(events)
    rng = random.Random(11)
    for _ in range(300):
        replayed = events + rng.sample(events, k=len(events) // 3)
        rng.shuffle(replayed)
        assert _written_in_batches(_batches(replayed, rng)) == expected


def test_merging_step_rows_ahead_would_lose_the_newest_attempts_input(
    make_run: RunFactory,
) -> None:
    # Why step rows are written one by one: attempt 2 is archived (dispatch), then a late
    # dispatch of attempt 1 arrives in one batch with attempt 2's completion.
    events = {
        (type(e).__name__, e.attempt): e
        for e in make_run(steps=2)
        if isinstance(e, StepDispatched | StepCompleted) and e.step_id == "s1"
    }
    retry_dispatch = events[("StepDispatched", 2)]
    retry_dispatch = retry_dispatch.model_copy(update={"input": {"expression": "retry"}})
    late_first = events[("StepDispatched", 1)]
    done = events[("StepCompleted", 2)]
    stored = project(retry_dispatch).steps[0]
    late, completed = project(late_first).steps[0], project(done).steps[0]

    one_by_one = merge(merge(stored, late), completed)
    assert one_by_one.input == {"expression": "retry"}
    merged_ahead = merge(stored, merge(late, completed))
    assert merged_ahead.input == late_first.input  # wrong: the old attempt's input
    written = stored
    for step in batch_rows([project(late_first), project(done)]).steps:
        written = merge(written, step)
    assert written == one_by_one
