"""A run's timeline from plain event lists: retries, restarts, cancellations, gaps."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    Plan,
    PlanStep,
    RunCanceled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunRestarted,
    RunStarted,
    RunState,
    RunStatus,
    StepCanceled,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    StepState,
    StepStatus,
    Usage,
)
from pulse_gateway.domain import build_timeline, live_timeline

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PLAN = Plan(
    steps=[
        PlanStep(id="s1", tool="calculator", input={"expression": "6*7"}),
        PlanStep(id="s2", tool="llm.complete", agent="writer", input={"prompt": "hi"}),
        PlanStep(id="s3", tool="todo.add", input={"text": "x"}, depends_on=["s1", "s2"]),
    ]
)
TIMEOUT = ErrorInfo(code=ErrorCode.TIMED_OUT, message="no answer in 1s", retryable=True)


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


@dataclass
class History:
    """Events of run `r1` numbered as the executor numbers them."""

    events: list[RunEvent] = field(default_factory=list)

    def _common(self, kind: str, ms: float, step: str = "-", attempt: int = 0) -> dict[str, Any]:
        seq = len(self.events) + 1
        return {
            "message_id": f"r1:{step}:{attempt}:{kind}:{seq}",
            "run_id": "r1",
            "tenant": "acme",
            "trace_id": TRACE,
            "seq": seq,
            "occurred_at": at(ms),
        }

    def started(self, ms: float = 0) -> History:
        common = self._common("run.started", ms)
        self.events.append(RunStarted(**common, prompt="do it", plan=PLAN, planner="rule-based"))
        return self

    def dispatched(self, step: str, attempt: int, ms: float) -> History:
        tool = PLAN.step(step).tool
        common = self._common("dispatched", ms, step, attempt)
        self.events.append(
            StepDispatched(**common, step_id=step, attempt=attempt, tool=tool, input={})
        )
        return self

    def completed(
        self,
        step: str,
        attempt: int,
        start: float,
        end: float,
        *,
        tokens: int = 0,
        agent: str | None = None,
    ) -> History:
        common = self._common("completed", end, step, attempt)
        usage = Usage(prompt_tokens=tokens, completion_tokens=tokens, cost_usd=tokens / 1000)
        self.events.append(
            StepCompleted(
                **common,
                step_id=step,
                attempt=attempt,
                tool=PLAN.step(step).tool,
                output=1,
                usage=usage,
                started_at=at(start),
                finished_at=at(end),
                agent=agent,
            )
        )
        return self

    def failed(
        self, step: str, attempt: int, start: float, end: float, *, retry_in: float | None = None
    ) -> History:
        common = self._common("failed", end, step, attempt)
        self.events.append(
            StepFailedEvent(
                **common,
                step_id=step,
                attempt=attempt,
                tool=PLAN.step(step).tool,
                error=TIMEOUT,
                started_at=at(start),
                finished_at=at(end),
                retry_at=None if retry_in is None else at(end + retry_in),
            )
        )
        return self

    def canceled(self, step: str, attempt: int, ms: float) -> History:
        common = self._common("canceled", ms, step, attempt)
        error = ErrorInfo(code=ErrorCode.CANCELED, message="stop", run_id="r1")
        self.events.append(
            StepCanceled(
                **common,
                step_id=step,
                attempt=attempt,
                tool=PLAN.step(step).tool,
                error=error,
                finished_at=at(ms),
            )
        )
        return self

    def run_end(
        self, kind: type[RunCompleted | RunFailed | RunCanceled], ms: float, tokens: int = 0
    ) -> History:
        common = self._common(kind.__name__, ms)
        usage = Usage(prompt_tokens=tokens, completion_tokens=tokens, cost_usd=tokens / 1000)
        if kind is RunCompleted:
            self.events.append(RunCompleted(**common, result=1, usage=usage))
        else:
            error = ErrorInfo(code=ErrorCode.TOOL_FAILED, message="s2 failed", step_id="s2")
            self.events.append(kind(**common, error=error, usage=usage))
        return self

    def restarted(self, ms: float, restarts: int = 1) -> History:
        common = self._common("restarted", ms, attempt=restarts)
        self.events.append(
            RunRestarted(**common, restarts=restarts, steps=["s2", "s3"], reason="flaky")
        )
        return self


def test_a_completed_run_lays_out_queue_wait_work_agents_and_usage() -> None:
    history = (
        History()
        .started(0)
        .dispatched("s1", 1, 10)
        .dispatched("s2", 1, 10)
        .completed("s1", 1, 30, 50, agent="default")
        .completed("s2", 1, 15, 400, tokens=20, agent="offline/offline-echo")
        .dispatched("s3", 1, 410)
        .completed("s3", 1, 420, 430)
        .run_end(RunCompleted, 440, tokens=20)
    )
    timeline = build_timeline(history.events)

    assert (timeline.run_id, timeline.tenant, timeline.status) == (
        "r1",
        "acme",
        RunStatus.COMPLETED,
    )
    assert (timeline.trace_id, timeline.prompt, timeline.planner) == (TRACE, "do it", "rule-based")
    assert timeline.created_at == T0
    assert timeline.duration_ms == pytest.approx(440)
    assert timeline.usage == Usage(prompt_tokens=20, completion_tokens=20, cost_usd=0.02)
    assert [s.step_id for s in timeline.steps] == ["s1", "s2", "s3"]
    assert [s.status for s in timeline.steps] == ["completed"] * 3
    assert timeline.steps[2].depends_on == ("s1", "s2")
    s1, s2, s3 = (s.attempts[0] for s in timeline.steps)
    assert (s1.queue_wait_ms, s1.duration_ms) == (pytest.approx(20), pytest.approx(20))
    assert (s2.queue_wait_ms, s2.duration_ms) == (pytest.approx(5), pytest.approx(385))
    assert s2.agent == "offline/offline-echo"
    assert s2.usage.prompt_tokens == 20
    # No agent reported: the plan's agent profile stands in.
    assert s3.agent == "default"
    assert [(a.step_id, a.attempt) for a in timeline.attempts] == [("s1", 1), ("s2", 1), ("s3", 1)]
    assert timeline.restart_count == 0
    assert timeline.source == "archive"


def test_a_retried_attempt_keeps_its_error_and_when_it_was_retried() -> None:
    history = (
        History()
        .started(0)
        .dispatched("s1", 1, 5)
        .failed("s1", 1, 6, 1006, retry_in=500)
        .dispatched("s1", 2, 1506)
        .completed("s1", 2, 1510, 1520)
    )
    timeline = build_timeline(history.events)
    first, second = timeline.steps[0].attempts
    assert (first.status, first.error, first.retry_at) == ("retried", TIMEOUT, at(1506))
    assert first.duration_ms == pytest.approx(1000)
    assert (second.status, second.attempt, second.error) == ("completed", 2, None)
    assert timeline.steps[0].status == "completed"
    # The run is still working: no end, steps not run yet are pending, usage so far.
    assert (timeline.status, timeline.finished_at, timeline.duration_ms) == (
        RunStatus.WORKING,
        None,
        None,
    )
    assert [s.status for s in timeline.steps[1:]] == ["pending", "pending"]


def test_a_restart_marks_the_attempts_after_it_and_the_run_ends_again() -> None:
    history = (
        History()
        .started(0)
        .dispatched("s1", 1, 1)
        .dispatched("s2", 1, 1)
        .completed("s1", 1, 2, 3)
        .failed("s2", 1, 2, 100)
        .run_end(RunFailed, 101, tokens=3)
        .restarted(5000)
        .dispatched("s2", 2, 5001)
        .completed("s2", 2, 5002, 5100, tokens=7)
        .dispatched("s3", 1, 5101)
        .completed("s3", 1, 5102, 5103)
        .run_end(RunCompleted, 5104, tokens=10)
    )
    timeline = build_timeline(history.events)
    assert timeline.status is RunStatus.COMPLETED
    assert timeline.error is None
    assert timeline.finished_at == at(5104)
    assert timeline.usage.prompt_tokens == 10
    assert timeline.restart_count == 1
    assert [(m.restarts, m.at, m.reason, m.steps) for m in timeline.restarts] == [
        (1, at(5000), "flaky", ("s2", "s3"))
    ]
    s2 = timeline.steps[1]
    assert [(a.attempt, a.restart, a.status) for a in s2.attempts] == [
        (1, 0, "failed"),
        (2, 1, "completed"),
    ]
    assert [(a.step_id, a.attempt, a.restart) for a in timeline.attempts] == [
        ("s1", 1, 0),
        ("s2", 1, 0),
        ("s2", 2, 1),
        ("s3", 1, 1),
    ]


def test_a_canceled_run_shows_the_attempt_in_flight_and_skips_the_rest() -> None:
    history = (
        History()
        .started(0)
        .dispatched("s1", 1, 1)
        .dispatched("s2", 1, 1)
        .completed("s1", 1, 2, 3)
        .canceled("s2", 1, 700)
        .run_end(RunCanceled, 700)
    )
    timeline = build_timeline(history.events)
    assert timeline.status is RunStatus.CANCELED
    assert timeline.error is not None
    assert timeline.error.code is ErrorCode.TOOL_FAILED
    s2 = timeline.steps[1].attempts[0]
    assert (s2.status, s2.started_at, s2.finished_at) == ("canceled", None, at(700))
    assert s2.error is not None
    assert s2.error.code is ErrorCode.CANCELED
    assert (s2.queue_wait_ms, s2.duration_ms) == (None, None)
    assert [s.status for s in timeline.steps] == ["completed", "canceled", "skipped"]
    assert timeline.steps[2].attempts == ()


def test_order_and_repeats_of_the_events_do_not_matter() -> None:
    history = (
        History()
        .started(0)
        .dispatched("s1", 1, 1)
        .failed("s1", 1, 2, 3, retry_in=1)
        .dispatched("s1", 2, 4)
        .completed("s1", 2, 5, 6)
        .run_end(RunCompleted, 7)
    )
    shuffled = history.events * 2
    random.Random(7).shuffle(shuffled)
    assert build_timeline(shuffled) == build_timeline(history.events)


def test_missing_events_leave_gaps_not_errors() -> None:
    # No run.started, no dispatch of s1 attempt 1, no outcome of s2: what is there is shown.
    history = History().dispatched("s2", 1, 10).completed("s1", 1, 20, 30, tokens=2)
    history.events.append(history.events.pop(0))
    timeline = build_timeline(history.events)
    assert timeline.status is RunStatus.SUBMITTED
    assert timeline.prompt == ""
    assert [(s.step_id, s.tool, s.agent) for s in timeline.steps] == [
        ("s1", "calculator", "default"),
        ("s2", "llm.complete", "default"),
    ]
    s1, s2 = (s.attempts[0] for s in timeline.steps)
    assert (s1.dispatched_at, s1.queue_wait_ms, s1.duration_ms) == (None, None, pytest.approx(10))
    assert (s2.status, s2.started_at, s2.finished_at) == ("running", None, None)
    # No run-level usage without a terminal event: the attempts' usage adds up.
    assert timeline.usage.prompt_tokens == 2
    failed = History().started(0).dispatched("s1", 1, 1).run_end(RunFailed, 50)
    lost = build_timeline(failed.events).steps[0].attempts[0]
    assert lost.status == "unknown"


def test_a_timeline_needs_an_event() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        build_timeline([])


def test_a_run_not_archived_yet_is_shown_from_its_live_state() -> None:
    state = RunState(
        run_id="r2",
        tenant="acme",
        prompt="do it",
        status=RunStatus.WORKING,
        plan=PLAN,
        trace_id=TRACE,
        created_at=T0,
        updated_at=at(90),
        restarts=2,
        steps={
            "s1": StepState(
                step_id="s1",
                tool="calculator",
                status=StepStatus.COMPLETED,
                attempt=3,
                dispatched_at=at(10),
                started_at=at(15),
                finished_at=at(25),
                agent="default",
            ),
            "s2": StepState(
                step_id="s2",
                tool="llm.complete",
                status=StepStatus.DISPATCHED,
                attempt=1,
                dispatched_at=at(10),
            ),
        },
    )
    timeline = live_timeline(state)
    assert (timeline.source, timeline.restart_count, timeline.finished_at) == ("live", 2, None)
    assert [s.status for s in timeline.steps] == ["completed", "dispatched", "pending"]
    s1 = timeline.steps[0].attempts[0]
    assert (s1.attempt, s1.restart, s1.queue_wait_ms, s1.duration_ms) == (3, 2, 5.0, 10.0)
    s2 = timeline.steps[1].attempts[0]
    assert (s2.status, s2.agent) == ("running", "writer")
    assert timeline.steps[2].attempts == ()
