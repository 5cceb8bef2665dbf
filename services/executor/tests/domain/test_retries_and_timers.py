"""Retries with back-off, step timeouts and run deadlines, as pure transitions.

Timers are effects like any other: a test takes the timer a transition scheduled and feeds
it back as the message the server delivers when it is due.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pulse_contracts import (
    CancelTask,
    ErrorCode,
    RetryDue,
    RetryPolicy,
    RunDeadlineDue,
    RunStatus,
    StepFailedEvent,
    StepStatus,
    StepTimeoutDue,
    TimerBase,
)
from pulse_executor.domain import (
    ExecutorRunState,
    RunDefaults,
    Transition,
    expire_run,
    jitter_fraction,
    record_result,
    retry_delay_s,
    retry_step,
    start_run,
    time_out_step,
)

from .test_transitions import changed, dispatched, labels


def timer(transition: Transition, kind: type[TimerBase], step_id: str | None = None) -> TimerBase:
    found = [
        e
        for e in transition.effects
        if isinstance(e, kind) and getattr(e, "step_id", None) in (step_id, None)
    ]
    assert len(found) == 1, [type(e).__name__ for e in transition.effects]
    return found[0]


def started(msgs, *steps: dict, **kwargs) -> tuple[Transition, ExecutorRunState]:
    t = start_run(None, msgs.plan_created(msgs.plan(*steps), **kwargs), now=msgs.now())
    return t, changed(t)


# --- back-off ------------------------------------------------------------------------------


def test_jitter_is_fixed_by_run_step_and_attempt() -> None:
    assert jitter_fraction("r", "s", 2) == jitter_fraction("r", "s", 2)
    fractions = {jitter_fraction("r", "s", n) for n in range(2, 50)}
    assert len(fractions) == 48
    assert all(0 <= f < 1 for f in fractions)
    assert min(fractions) < 0.2
    assert max(fractions) > 0.8


def test_delays_grow_exponentially_up_to_the_cap_within_the_jitter() -> None:
    policy = RetryPolicy(initial_delay_s=0.5, multiplier=2.0, max_delay_s=3.0, jitter=0.2)
    assert [policy.base_delay_s(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    for failed in range(1, 6):
        delay = retry_delay_s(
            policy, run_id="r", step_id="s", attempt=failed + 1, failed_attempts=failed
        )
        base = policy.base_delay_s(failed)
        assert base * 0.8 <= delay <= base * 1.2
    plain = RetryPolicy(jitter=0.0)
    assert retry_delay_s(plain, run_id="r", step_id="s", attempt=2, failed_attempts=1) == 0.5
    assert RetryPolicy(multiplier=100, max_delay_s=60).base_delay_s(10_000) == 60


# --- retries -------------------------------------------------------------------------------


def test_start_schedules_the_deadline_and_each_dispatch_its_timeout(msgs) -> None:
    t = start_run(
        None,
        msgs.plan_created(msgs.plan({"id": "a", "timeout_s": 10}, {"id": "b"}), deadline_s=120),
        now=msgs.now(),
        defaults=RunDefaults(deadline_s=999, timeout_grace_s=2),
    )
    state = changed(t)
    assert labels(t, timers=True) == [
        "run.started",
        "step.dispatched:a",
        "step.dispatched:b",
        "deadline",
        "dispatch:a",
        "timeout:a",
        "dispatch:b",
        "timeout:b",
    ]
    assert state.deadline_at == msgs.now(120)
    deadline = timer(t, RunDeadlineDue)
    assert (deadline.message_id, deadline.due_at) == ("run-1:-:0:deadline", msgs.now(120))
    timeout = timer(t, StepTimeoutDue, "a")
    assert timeout.message_id == "run-1:a:1:timeout"
    assert timeout.due_at == msgs.now(12)  # dispatched at 0, 10 s timeout, 2 s grace
    assert timer(t, StepTimeoutDue, "b").due_at == msgs.now(32)
    default = changed(start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()))
    assert default.deadline_at == msgs.now(3600)


def test_a_retryable_failure_is_retried_after_its_back_off(msgs) -> None:
    _, before = started(msgs, {"id": "a"}, {"id": "b", "depends_on": ["a"]})
    flaky = msgs.finished("a", error="flaky", retryable=True)
    t = record_result(before, flaky, now=msgs.now(2))
    state = changed(t)
    step = state.steps["a"]
    assert (step.status, step.attempt) == (StepStatus.RETRYING, 1)
    delay = retry_delay_s(RetryPolicy(), run_id="run-1", step_id="a", attempt=2, failed_attempts=1)
    assert step.retry_at == msgs.now(2) + timedelta(seconds=delay)
    assert 0.4 <= delay <= 0.6
    assert labels(t, timers=True) == ["step.failed:a", "retry:a"]
    failed = t.effects[0]
    assert isinstance(failed, StepFailedEvent)
    assert failed.retry_at == step.retry_at
    retry = timer(t, RetryDue, "a")
    assert (retry.message_id, retry.attempt, retry.due_at) == ("run-1:a:2:retry", 2, step.retry_at)
    assert state.status is RunStatus.WORKING

    # Decided again (a compare-and-set conflict, a redelivery): the very same retry.
    assert record_result(before, flaky, now=msgs.now(2)).effects == t.effects

    t = retry_step(state, retry, now=msgs.now(3))
    state = changed(t)
    assert labels(t, timers=True) == ["step.dispatched:a", "dispatch:a", "timeout:a"]
    task = dispatched(t)["a"]
    assert (task.attempt, task.message_id) == (2, "run-1:a:2:dispatch")
    assert timer(t, StepTimeoutDue, "a").message_id == "run-1:a:2:timeout"
    assert state.steps["a"].retry_at is None

    redelivered = retry_step(state, retry, now=msgs.now(4))
    assert redelivered.outcome == "duplicate"
    assert redelivered.effects == t.effects
    stray = retry.model_copy(update={"attempt": 5, "message_id": "run-1:a:5:retry"})
    assert retry_step(state, stray, now=msgs.now(4)).outcome == "ignored"
    # The first attempt's result is stale now; the second one's completes the step.
    assert record_result(state, msgs.finished("a", 1), now=msgs.now(5)).outcome == "ignored"
    t = record_result(state, msgs.finished("a", 1, attempt=2), now=msgs.now(5))
    assert changed(t).steps["a"].output == 1
    assert sorted(dispatched(t)) == ["b"]


def test_attempts_are_used_up_then_the_failure_is_final(msgs) -> None:
    _, state = started(msgs, {"id": "a", "retry": {"max_attempts": 3, "jitter": 0}})
    delays = []
    for attempt in (1, 2):
        t = record_result(
            state,
            msgs.finished("a", error="flaky", attempt=attempt, retryable=True),
            now=msgs.now(10 * attempt),
        )
        state = changed(t)
        retry = timer(t, RetryDue, "a")
        delays.append((retry.due_at - msgs.now(10 * attempt)).total_seconds())
        state = changed(retry_step(state, retry, now=retry.due_at))
    assert delays == [0.5, 1.0]
    t = record_result(
        state, msgs.finished("a", error="flaky", attempt=3, retryable=True), now=msgs.now(40)
    )
    state = changed(t)
    assert labels(t, timers=True) == ["step.failed:a", "run.failed"]
    assert state.status is RunStatus.FAILED
    assert state.steps["a"].attempt == 3
    assert state.steps["a"].status is StepStatus.FAILED
    assert state.error is not None
    assert state.error.message == "flaky"


def test_a_non_retryable_failure_is_not_retried(msgs) -> None:
    _, state = started(msgs, {"id": "a", "retry": {"max_attempts": 5}})
    t = record_result(state, msgs.finished("a", error="bad input"), now=msgs.now(1))
    assert changed(t).status is RunStatus.FAILED
    assert not [e for e in t.effects if isinstance(e, RetryDue)]


def test_no_retry_is_scheduled_past_the_deadline(msgs) -> None:
    _, state = started(msgs, {"id": "a", "retry": {"initial_delay_s": 60}}, deadline_s=30)
    t = record_result(state, msgs.finished("a", error="flaky", retryable=True), now=msgs.now(5))
    assert changed(t).status is RunStatus.FAILED


# --- timeouts ------------------------------------------------------------------------------


def test_a_timed_out_attempt_fails_is_retried_and_its_late_result_ignored(msgs) -> None:
    t, state = started(msgs, {"id": "a", "timeout_s": 5}, {"id": "b", "depends_on": ["a"]})
    due = timer(t, StepTimeoutDue, "a")
    t = time_out_step(state, due, now=due.due_at)
    state = changed(t)
    step = state.steps["a"]
    assert step.status is StepStatus.RETRYING
    assert step.error is not None
    assert (step.error.code, step.error.retryable) == (ErrorCode.TIMED_OUT, True)
    assert labels(t, timers=True) == ["step.failed:a", "cancel:a", "retry:a"]
    stop = next(e for e in t.effects if isinstance(e, CancelTask))
    assert (stop.step_id, stop.attempt, stop.message_id) == ("a", 1, "run-1:a:1:cancel")
    assert stop.reason.code is ErrorCode.TIMED_OUT

    # The agent was alive after all: its result comes too late and changes nothing.
    late = record_result(state, msgs.finished("a", "slow but done"), now=msgs.now(9))
    assert (late.outcome, late.effects) == ("ignored", ())
    again = time_out_step(state, due, now=msgs.now(9))
    assert again.outcome == "duplicate"
    assert again.effects == t.effects

    state = changed(retry_step(state, timer(t, RetryDue, "a"), now=msgs.now(10)))
    assert state.steps["a"].attempt == 2
    # The first attempt's timeout fired again (a resend): attempt 2 is not touched.
    resent = due.model_copy(update={"message_id": "resent"})
    assert time_out_step(state, resent, now=msgs.now(11)).outcome == "ignored"


def test_a_timeout_after_the_result_is_ignored(msgs) -> None:
    t, state = started(msgs, {"id": "a"})
    due = timer(t, StepTimeoutDue, "a")
    state = changed(record_result(state, msgs.finished("a", 1), now=msgs.now(1)))
    assert time_out_step(state, due, now=due.due_at).outcome == "ignored"


def test_the_last_attempt_timing_out_fails_the_run(msgs) -> None:
    t, state = started(msgs, {"id": "a", "retry": {"max_attempts": 1}}, {"id": "b"})
    t = time_out_step(state, timer(t, StepTimeoutDue, "a"), now=msgs.now(40))
    state = changed(t)
    assert state.status is RunStatus.FAILED
    assert state.error is not None
    assert state.error.code is ErrorCode.TIMED_OUT
    assert state.steps["b"].status is StepStatus.CANCELED
    assert labels(t, timers=True) == [
        "step.failed:a",
        "step.canceled:b",
        "run.failed",
        "cancel:a",
        "cancel:b",
    ]


# --- deadline ------------------------------------------------------------------------------


def test_the_deadline_fails_a_working_run_and_stops_its_steps(msgs) -> None:
    t, state = started(
        msgs, {"id": "a"}, {"id": "b"}, {"id": "c", "depends_on": ["a"]}, deadline_s=60
    )
    deadline = timer(t, RunDeadlineDue)
    flaky = msgs.finished("b", error="x", retryable=True)
    state = changed(record_result(state, flaky, now=msgs.now(1)))
    t = expire_run(state, deadline, now=deadline.due_at)
    state = changed(t)
    assert state.status is RunStatus.FAILED
    assert state.error is not None
    assert state.error.code is ErrorCode.DEADLINE_EXCEEDED
    assert {s: st.status for s, st in state.steps.items()} == {
        "a": StepStatus.CANCELED,
        "b": StepStatus.FAILED,  # was waiting to retry
        "c": StepStatus.SKIPPED,
    }
    a_error = state.steps["a"].error
    assert a_error is not None
    assert a_error.code is ErrorCode.DEADLINE_EXCEEDED
    assert labels(t, timers=True) == ["step.canceled:a", "run.failed", "cancel:a"]
    again = expire_run(state, deadline, now=msgs.now(99))
    assert (again.outcome, again.effects) == ("duplicate", t.effects)
    # b's retry timer was still pending: it fires into a dead run.
    retry = RetryDue(
        message_id="run-1:b:2:retry",
        run_id="run-1",
        tenant="acme",
        step_id="b",
        attempt=2,
        due_at=msgs.now(2),
    )
    assert retry_step(state, retry, now=msgs.now(99)).outcome == "ignored"


def test_a_deadline_after_the_end_is_ignored(msgs) -> None:
    t, state = started(msgs, {"id": "a"})
    state = changed(record_result(state, msgs.finished("a", 1), now=msgs.now(1)))
    assert expire_run(state, timer(t, RunDeadlineDue), now=msgs.now(3600)).outcome == "ignored"


@pytest.mark.parametrize("failing", ["a", "b"])
def test_continue_lets_the_other_branches_finish(msgs, failing: str) -> None:
    _, state = started(
        msgs,
        {"id": "a", "on_failure": "continue"},
        {"id": "a2", "depends_on": ["a"]},
        {"id": "b", "on_failure": "continue"},
    )
    other = "b" if failing == "a" else "a"
    t = record_result(state, msgs.finished(failing, error="no"), now=msgs.now(1))
    state = changed(t)
    assert state.status is RunStatus.WORKING
    assert state.steps[failing].status is StepStatus.FAILED
    if failing == "a":
        assert state.steps["a2"].status is StepStatus.SKIPPED
    state = changed(record_result(state, msgs.finished(other, "ok"), now=msgs.now(2)))
    if other == "a":
        assert state.status is RunStatus.WORKING
        state = changed(record_result(state, msgs.finished("a2", "ok2"), now=msgs.now(3)))
        assert state.result == {"a2": "ok2"}
    else:
        assert state.result == {"b": "ok"}
    assert state.status is RunStatus.COMPLETED
    assert state.error is not None
    assert state.error.code is ErrorCode.STEP_FAILED
    assert failing in state.error.message


def test_continue_with_nothing_left_to_show_fails_the_run(msgs) -> None:
    _, state = started(
        msgs, {"id": "a", "on_failure": "continue"}, {"id": "b", "depends_on": ["a"]}
    )
    t = record_result(state, msgs.finished("a", error="no"), now=msgs.now(1))
    state = changed(t)
    assert state.status is RunStatus.FAILED
    assert state.steps["b"].status is StepStatus.SKIPPED
    assert state.error is not None
    assert state.error.message == "steps failed: a; skipped: b"
    assert labels(t) == ["step.failed:a", "run.failed"]
