"""Where a run's time went, from hand-made run events with known timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse_contracts import Plan, PlanStep
from pulse_contracts.errors import ErrorCode, ErrorInfo
from pulse_contracts.events import (
    RunCompleted,
    RunEvent,
    RunFailed,
    RunRejected,
    RunStarted,
    StepCompleted,
    StepDispatched,
    StepFailed,
)
from pulse_stack.bench.timings import IncompleteRunError, handoffs, is_settled, run_timing

T0 = datetime(2025, 1, 1, tzinfo=UTC)
RUN = "run-1"


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def started(*steps: tuple[str, list[str]]) -> RunStarted:
    plan = Plan(steps=[PlanStep(id=i, tool="calculator", depends_on=d) for i, d in steps])
    return RunStarted(
        message_id="m-start",
        run_id=RUN,
        seq=1,
        occurred_at=at(0),
        prompt="p",
        plan=plan,
        planner="rule-based",
    )


def dispatched(step: str, ms: float, seq: int, attempt: int = 1) -> StepDispatched:
    return StepDispatched(
        message_id=f"m-d-{step}-{attempt}",
        run_id=RUN,
        seq=seq,
        occurred_at=at(ms),
        step_id=step,
        attempt=attempt,
        tool="calculator",
        input={},
    )


def completed(step: str, start: float, end: float, seq: int, attempt: int = 1) -> StepCompleted:
    return StepCompleted(
        message_id=f"m-c-{step}",
        run_id=RUN,
        seq=seq,
        occurred_at=at(end + 1),
        step_id=step,
        attempt=attempt,
        tool="calculator",
        output=1,
        started_at=at(start),
        finished_at=at(end),
    )


def run_completed(ms: float, seq: int) -> RunCompleted:
    return RunCompleted(message_id="m-end", run_id=RUN, seq=seq, occurred_at=at(ms), result=1)


def chain_events() -> list[RunEvent]:
    # s1 dispatched at 10, runs 15..16; s2 dispatched at 30, runs 34..40; run ends at 45.
    return [
        started(("s1", []), ("s2", ["s1"])),
        dispatched("s1", 10, 2),
        completed("s1", 15, 16, 3),
        dispatched("s2", 30, 4),
        completed("s2", 34, 40, 5),
        run_completed(45, 6),
    ]


def test_a_chain_s_span_handoff_and_hops() -> None:
    timing = run_timing(chain_events())
    assert timing.status == "completed"
    assert timing.span_s == pytest.approx(0.035)  # first dispatch 10 -> end 45
    assert timing.finish_s == pytest.approx(0.005)
    assert timing.steps["s2"].tool_s == pytest.approx(0.006)
    [handoff] = handoffs(timing)
    assert (handoff.step_id, handoff.after) == ("s2", "s1")
    assert handoff.dispatch_hop_s == pytest.approx(0.005)  # dispatched 10 -> started 15
    assert handoff.result_hop_s == pytest.approx(0.014)  # finished 16 -> next dispatched 30
    # the same as the gap between dispatches minus the predecessor's tool time
    assert handoff.total_s == pytest.approx(0.020 - 0.001)


def test_events_out_of_order_and_duplicated_give_the_same_timing() -> None:
    events = chain_events()
    shuffled = [events[5], events[3], events[0], events[4], events[1], events[2], events[3]]
    assert run_timing(shuffled) == run_timing(events)


def test_independent_steps_have_no_handoff_and_a_start_spread() -> None:
    events: list[RunEvent] = [
        started(("s1", []), ("s2", []), ("s3", [])),
        dispatched("s1", 5, 2),
        dispatched("s2", 5, 3),
        dispatched("s3", 5, 4),
        completed("s1", 6, 206, 5),
        completed("s2", 7, 207, 6),
        completed("s3", 9, 209, 7),
        run_completed(212, 8),
    ]
    timing = run_timing(events)
    assert handoffs(timing) == []
    assert timing.span_s == pytest.approx(0.207)
    assert timing.start_spread_s == pytest.approx(0.003)


def test_a_join_hands_off_from_the_predecessor_that_finished_last() -> None:
    events: list[RunEvent] = [
        started(("s1", []), ("s2", []), ("s3", ["s1", "s2"])),
        dispatched("s1", 0, 2),
        dispatched("s2", 0, 3),
        completed("s1", 1, 2, 4),
        completed("s2", 3, 50, 5),
        dispatched("s3", 60, 6),
        completed("s3", 61, 62, 7),
        run_completed(63, 8),
    ]
    [handoff] = handoffs(run_timing(events))
    assert handoff.after == "s2"
    assert handoff.dispatch_hop_s == pytest.approx(0.003)
    assert handoff.result_hop_s == pytest.approx(0.010)


def test_a_retried_step_is_timed_from_the_dispatch_of_the_attempt_that_finished() -> None:
    events: list[RunEvent] = [
        started(("s1", [])),
        dispatched("s1", 0, 2, attempt=1),
        dispatched("s1", 500, 3, attempt=2),
        completed("s1", 502, 503, 4, attempt=2),
        run_completed(505, 5),
    ]
    timing = run_timing(events)
    assert timing.steps["s1"].dispatched_at == at(500)


def test_a_run_without_all_its_events_is_not_settled() -> None:
    events = chain_events()
    assert is_settled(events)
    assert not is_settled(events[:-1])  # no terminal event
    del events[4]  # the terminal event came before s2's outcome
    assert not is_settled(events)
    with pytest.raises(IncompleteRunError, match="s2"):
        run_timing(events)


def test_a_rejected_run_is_settled_but_has_no_timing() -> None:
    error = ErrorInfo(code=ErrorCode.PLANNING_FAILED, message="no")
    rejected = RunRejected(message_id="m-r", run_id=RUN, seq=1, prompt="p", error=error)
    assert is_settled([rejected])
    with pytest.raises(IncompleteRunError, match="rejected"):
        run_timing([rejected])


def test_a_failed_run_is_timed_over_the_steps_that_ran() -> None:
    error = ErrorInfo(code=ErrorCode.TOOL_FAILED, message="bad")
    events: list[RunEvent] = [
        started(("s1", []), ("s2", ["s1"])),
        dispatched("s1", 0, 2),
        StepFailed(
            message_id="m-f",
            run_id=RUN,
            seq=3,
            step_id="s1",
            attempt=1,
            tool="calculator",
            error=error,
            started_at=at(1),
            finished_at=at(2),
        ),
        RunFailed(message_id="m-end", run_id=RUN, seq=4, occurred_at=at(3), error=error),
    ]
    timing = run_timing(events)
    assert timing.status == "failed"
    assert list(timing.steps) == ["s1"]
    assert not timing.steps["s1"].completed
