"""Projection of run events into run and step rows, in order, out of order and repeated."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import fields
from datetime import timedelta

import pytest

from pulse_archiver.domain import (
    NO_STATE,
    RUN_RULES,
    STEP_RULES,
    History,
    RunRow,
    StepRow,
    fold,
    merge,
    order_steps,
    project,
)
from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    JsonValue,
    Plan,
    RunEvent,
    RunFailed,
    RunRejected,
    RunStatus,
    StepCompleted,
    StepStatus,
    Usage,
    event_message_id,
)

RunFactory = Callable[..., list[RunEvent]]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_every_column_has_a_merge_rule() -> None:
    assert set(RUN_RULES) == {f.name for f in fields(RunRow)}
    assert set(STEP_RULES) == {f.name for f in fields(StepRow)}


def test_run_in_order(run_events: list[RunEvent]) -> None:
    archived = fold(run_events)["run-1"]
    run = archived.run
    assert run.status is RunStatus.COMPLETED
    assert (run.tenant, run.trace_id, run.planner) == ("acme", TRACE_ID, "rule-based")
    assert run.prompt == "add up 2 products"
    assert [s.id for s in Plan.model_validate(run.plan).steps] == ["s1", "s2", "s3"]
    assert run.result == {"s3": 9}
    assert run.error is None
    assert (run.prompt_tokens, run.completion_tokens, run.cost_usd) == (30, 15, 0.00045)
    assert run.created_at == run_events[0].occurred_at
    assert run.updated_at == run_events[-1].occurred_at
    assert run.last_seq == run.state_seq == run_events[-1].seq

    s1, s2, s3 = archived.steps
    assert [s.step_id for s in archived.steps] == ["s1", "s2", "s3"]
    assert all(s.status is StepStatus.COMPLETED for s in archived.steps)
    assert (s1.attempt, s1.output, s1.error) == (2, 3, None)  # the retry's success wins
    assert s1.input == {"expression": "1 * 3"}
    assert (s2.attempt, s2.output) == (1, 6)
    assert s3.input == {"expression": "3 + 6"}  # the dispatched, resolved input
    assert s3.output == 9
    assert s3.duration_ms == pytest.approx(200.0)
    assert (s3.prompt_tokens, s3.completion_tokens, s3.cost_usd) == (10, 5, 0.00015)


def test_run_started_lays_out_pending_steps(run_events: list[RunEvent]) -> None:
    projection = project(run_events[0])
    assert projection.run.status is RunStatus.WORKING
    assert projection.run.state_seq == 0
    assert [(s.step_id, s.status, s.attempt) for s in projection.steps] == [
        ("s1", StepStatus.PENDING, 0),
        ("s2", StepStatus.PENDING, 0),
        ("s3", StepStatus.PENDING, 0),
    ]
    assert projection.steps[2].input == {"expression": "{{steps.s1.output}} + {{steps.s2.output}}"}


def test_step_events_do_not_decide_the_run_state(run_events: list[RunEvent]) -> None:
    projection = project(run_events[1])
    assert projection.run.state_seq == NO_STATE
    assert projection.run.last_seq == 1
    assert len(projection.steps) == 1


def test_partial_run_shows_progress(run_events: list[RunEvent]) -> None:
    archived = fold(run_events[:4])["run-1"]  # started, s1 failed once, s1 re-dispatched
    assert archived.run.status is RunStatus.WORKING
    s1, s2, _ = archived.steps
    assert (s1.status, s1.attempt, s1.error) == (StepStatus.DISPATCHED, 2, None)
    assert s2.status is StepStatus.PENDING


def test_every_order_of_a_retried_step_gives_the_same_rows(make_run: RunFactory) -> None:
    # run.started, s1 dispatched/failed/dispatched/completed, run.completed: all 720 orders
    events = [e for e in make_run(steps=2, retry=True) if getattr(e, "step_id", "s1") == "s1"]
    assert len(events) == 6
    expected = fold(events)
    for order in itertools.permutations(events):
        assert fold(order) == expected


def test_shuffled_and_repeated_events_give_the_same_rows(make_run: RunFactory) -> None:
    events = make_run(steps=6, retry=True)
    expected = fold(events)
    rng = random.Random(7)
    for _ in range(300):
        replayed = events + rng.sample(events, k=len(events) // 2)
        rng.shuffle(replayed)
        assert fold(replayed) == expected


def test_run_completed_before_run_started_still_fills_prompt_and_plan(
    run_events: list[RunEvent],
) -> None:
    started, completed = run_events[0], run_events[-1]
    history = History()
    history.record(completed)
    history.record(started)  # older: must not make the run `working` again
    run = history.get("run-1")
    assert run is not None
    assert run.run.status is RunStatus.COMPLETED
    assert run.run.prompt == "add up 2 products"
    assert run.run.plan is not None
    assert run.run.created_at == started.occurred_at
    assert run.run.updated_at == completed.occurred_at


def test_older_step_event_does_not_move_a_step_backwards(run_events: list[RunEvent]) -> None:
    history = History()
    for event in reversed(run_events):
        history.record(event)
    archived = history.get("run-1")
    assert archived is not None
    assert [s.status for s in archived.steps] == [StepStatus.COMPLETED] * 3
    assert archived.steps[0].attempt == 2


def test_duplicates_are_applied_once(run_events: list[RunEvent]) -> None:
    history = History()
    assert [history.record(e) for e in run_events] == [True] * len(run_events)
    assert [history.record(e) for e in run_events] == [False] * len(run_events)
    assert history.event_count == len(run_events)


def test_step_event_after_the_run_failed_keeps_it_failed(run_events: list[RunEvent]) -> None:
    started = run_events[0]
    failed = RunFailed(
        message_id=event_message_id("run-1", "run.failed"),
        run_id="run-1",
        tenant="acme",
        seq=5,
        occurred_at=started.occurred_at + timedelta(seconds=5),
        error=ErrorInfo(code=ErrorCode.STEP_FAILED, message="s2 failed", run_id="run-1"),
        usage=Usage(prompt_tokens=1),
    )
    late = StepCompleted(  # an in-flight step reporting after the run ended
        message_id=event_message_id("run-1", "step.completed", "s3", 1),
        run_id="run-1",
        tenant="acme",
        seq=6,
        occurred_at=started.occurred_at + timedelta(seconds=6),
        step_id="s3",
        attempt=1,
        tool="calculator",
        output=1,
        started_at=started.occurred_at,
        finished_at=started.occurred_at + timedelta(seconds=6),
    )
    for order in itertools.permutations([started, failed, late]):
        archived = fold(order)["run-1"]
        assert archived.run.status is RunStatus.FAILED
        assert archived.run.error == failed.error.model_dump(mode="json")
        assert archived.run.last_seq == 6
        assert archived.steps[2].status is StepStatus.COMPLETED


def test_rejected_run() -> None:
    rejected = RunRejected(
        message_id=event_message_id("run-2", "run.rejected"),
        run_id="run-2",
        tenant="acme",
        seq=0,
        prompt="do something impossible",
        error=ErrorInfo(code=ErrorCode.PLANNING_FAILED, message="no tool fits", run_id="run-2"),
    )
    archived = fold([rejected])["run-2"]
    assert archived.run.status is RunStatus.REJECTED
    assert archived.run.prompt == "do something impossible"
    assert archived.run.error == {
        "code": "planning_failed",
        "message": "no tool fits",
        "run_id": "run-2",
        "step_id": None,
        "retryable": False,
    }
    assert archived.steps == ()


def test_merge_refuses_rows_of_different_tables(run_events: list[RunEvent]) -> None:
    projection = project(run_events[0])
    with pytest.raises(TypeError):
        merge(projection.run, projection.steps[0])  # type: ignore[type-var]


def test_order_steps_follows_the_plan_then_ids(run_events: list[RunEvent]) -> None:
    steps = list(project(run_events[0]).steps)
    plan: JsonValue = {"steps": [{"id": "s3"}, {"id": "s1"}]}
    assert [s.step_id for s in order_steps(plan, steps)] == ["s3", "s1", "s2"]
    assert [s.step_id for s in order_steps(None, reversed(steps))] == ["s1", "s2", "s3"]
