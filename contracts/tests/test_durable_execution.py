"""Contracts for retries, timers, deadlines, cancel and restart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pulse_contracts import (
    RUN_EVENT_ADAPTER,
    TIMER_ADAPTER,
    CancelRun,
    ErrorCode,
    PlanCreated,
    PlanStep,
    RestartRun,
    RetryDue,
    RetryPolicy,
    RunDeadlineDue,
    RunRequested,
    RunState,
    StepStatus,
    StepTimedOut,
    StepTimeoutDue,
    control_message_id,
    subjects,
    timer_message_id,
)

AT = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_step_retries_three_times_and_fails_the_run_by_default() -> None:
    step = PlanStep(id="a", tool="calculator")
    assert step.retry == RetryPolicy(
        max_attempts=3, initial_delay_s=0.5, multiplier=2.0, max_delay_s=30.0, jitter=0.2
    )
    assert step.on_failure == "fail_run"
    assert PlanStep.model_validate({"id": "a", "tool": "t", "on_failure": "continue"})
    with pytest.raises(ValidationError):
        PlanStep.model_validate({"id": "a", "tool": "t", "on_failure": "ignore"})
    with pytest.raises(ValidationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValidationError):
        RetryPolicy(jitter=1.5)


def test_base_delays_grow_and_are_capped() -> None:
    policy = RetryPolicy(initial_delay_s=1, multiplier=3, max_delay_s=20)
    assert [policy.base_delay_s(n) for n in range(1, 6)] == [1, 3, 9, 20, 20]


def test_deadlines_are_optional_and_bounded() -> None:
    common = {"message_id": "m", "run_id": "r", "prompt": "p"}
    assert RunRequested(**common).deadline_s is None
    assert RunRequested(**common, deadline_s=60).deadline_s == 60
    with pytest.raises(ValidationError):
        RunRequested(**common, deadline_s=0)
    plan = {"steps": [{"id": "a", "tool": "t"}]}
    assert PlanCreated(**common, plan=plan, planner="x", deadline_s=5).deadline_s == 5


def test_new_statuses_and_codes() -> None:
    assert StepStatus.CANCELED.is_terminal
    assert not StepStatus.RETRYING.is_terminal
    assert {ErrorCode.TIMED_OUT, ErrorCode.DEADLINE_EXCEEDED, ErrorCode.CANCELED} <= set(ErrorCode)
    info = StepTimedOut("too slow", run_id="r", step_id="s").to_info()
    assert (info.code, info.retryable) == (ErrorCode.TIMED_OUT, True)
    state = RunState(run_id="r", tenant="t", prompt="p")
    assert (state.restarts, state.deadline_at) == (0, None)


def test_timers_travel_as_one_discriminated_union() -> None:
    common = {"run_id": "r", "due_at": AT}
    timers = [
        StepTimeoutDue(
            **common,
            message_id=timer_message_id("r", "s", 1, "timeout"),
            step_id="s",
            attempt=1,
            timeout_s=3,
        ),
        RetryDue(**common, message_id="r:s:2:retry", step_id="s", attempt=2),
        RunDeadlineDue(**common, message_id="r:-:0:deadline"),
    ]
    for timer in timers:
        assert TIMER_ADAPTER.validate_json(timer.model_dump_json()) == timer
    assert [t.kind for t in timers] == ["timeout", "retry", "deadline"]
    assert timers[0].message_id == "r:s:1:timeout"


def test_timer_and_control_subjects() -> None:
    assert subjects.timer_schedule_subject("r1", "s1", 2, "retry") == (
        "pulse.timers.schedule.r1.s1.2.retry"
    )
    assert subjects.timer_fired_subject("retry") == "pulse.timers.fired.retry"
    assert subjects.task_cancel_subject("r1") == "pulse.tasks.cancel.r1"
    with pytest.raises(ValueError, match="subject token"):
        subjects.timer_schedule_subject("r.1", "s", 1, "retry")
    assert subjects.TIMERS_WILDCARD in subjects.STREAM_SUBJECTS[subjects.STREAM_TIMERS]
    runs = subjects.STREAM_SUBJECTS[subjects.STREAM_RUNS]
    assert subjects.RUNS_CONTROL_WILDCARD in runs
    every = [s for subs in subjects.STREAM_SUBJECTS.values() for s in subs]
    assert not any(s.startswith(subjects.TASKS_CANCEL_PREFIX) for s in every), (
        "stop requests are a core-NATS broadcast, kept by no stream"
    )


def test_commands_have_stable_ids() -> None:
    assert control_message_id("r1", "cancel", 7) == "run:r1:cancel:7"
    cancel = CancelRun(message_id=control_message_id("r1", "cancel", 7), run_id="r1")
    assert cancel.reason == "canceled on request"
    restart = RestartRun(message_id="run:r1:restart:9", run_id="r1", if_seq=9)
    assert restart.if_seq == 9


def test_new_run_events_parse_through_the_union() -> None:
    common = {"run_id": "r", "occurred_at": AT.isoformat()}
    canceled = {"code": "canceled", "message": "stop"}
    for body in (
        {**common, "message_id": "1", "seq": 5, "type": "run.canceled", "error": canceled},
        {
            **common,
            "message_id": "2",
            "seq": 6,
            "type": "run.restarted",
            "restarts": 1,
            "steps": ["a"],
        },
        {
            **common,
            "message_id": "3",
            "seq": 4,
            "type": "step.canceled",
            "step_id": "a",
            "attempt": 1,
            "tool": "t",
            "error": canceled,
            "finished_at": AT.isoformat(),
        },
    ):
        assert RUN_EVENT_ADAPTER.validate_python(body).type == body["type"]
