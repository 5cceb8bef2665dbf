"""Timers a transition makes moot, and transitions that never touch the state they were given.

A withdrawn timer is named by the identity its message id is built from, so each one must
match a timer an earlier transition scheduled (`timer_message_id`) and must never be one a
later transition still needs.
"""

from __future__ import annotations

from pulse_contracts import RetryDue, RunDeadlineDue, StepTimeoutDue, timer_message_id
from pulse_executor.domain import (
    ExecutorRunState,
    PendingTimer,
    RunDefaults,
    Transition,
    cancel_run,
    expire_run,
    record_result,
    restart_run,
    retry_step,
    start_run,
    time_out_step,
)

from .test_retries_and_timers import timer
from .test_transitions import changed


def ids(transition: Transition) -> set[str]:
    return {
        timer_message_id(t.run_id, t.step_id, t.attempt, t.kind) for t in transition.withdrawals
    }


def scheduled(*transitions: Transition) -> set[str]:
    return {
        e.message_id
        for t in transitions
        for e in t.effects
        if isinstance(e, StepTimeoutDue | RetryDue | RunDeadlineDue)
    }


def chain(msgs) -> tuple[Transition, ExecutorRunState]:
    t = start_run(
        None,
        msgs.plan_created(msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]})),
        now=msgs.now(),
    )
    return t, changed(t)


def test_a_finished_attempt_withdraws_its_timeout_and_the_end_the_deadline(msgs) -> None:
    started, state = chain(msgs)
    assert started.withdrawals == ()
    t = record_result(state, msgs.finished("a", 1), now=msgs.now(1))
    assert t.withdrawals == (PendingTimer("run-1", "a", 1, "timeout"),)
    assert ids(t) <= scheduled(started)
    done = record_result(changed(t), msgs.finished("b", 2), now=msgs.now(2))
    assert ids(done) == {"run-1:b:1:timeout", "run-1:-:0:deadline"}
    assert ids(done) <= scheduled(started, t)


def test_nothing_is_withdrawn_by_messages_that_change_nothing(msgs) -> None:
    _, state = chain(msgs)
    state = changed(record_result(state, msgs.finished("a", 1), now=msgs.now(1)))
    for t in (
        record_result(state, msgs.finished("a", 1), now=msgs.now(2)),  # a redelivery
        record_result(state, msgs.finished("ghost", 1), now=msgs.now(2)),
    ):
        assert not t.changed
        assert t.withdrawals == ()


def test_a_timer_that_fired_is_not_withdrawn_but_what_it_ended_is(msgs) -> None:
    started = start_run(
        None, msgs.plan_created(msgs.plan({"id": "a"}, {"id": "b"})), now=msgs.now()
    )
    state = changed(started)
    timed_out = time_out_step(state, timer(started, StepTimeoutDue, "a"), now=msgs.now(40))
    assert ids(timed_out) == set()  # the timeout itself fired; a retry is now scheduled
    retry = timer(timed_out, RetryDue, "a")
    retried = retry_step(changed(timed_out), retry, now=msgs.now(41))
    assert ids(retried) == set()  # the retry fired; attempt 2 has a timeout of its own
    # The deadline fires: it is not withdrawn, the timeouts of what it stopped are.
    deadline = timer(started, RunDeadlineDue)
    expired = expire_run(changed(retried), deadline, now=msgs.now(50))
    assert ids(expired) == {"run-1:a:2:timeout", "run-1:b:1:timeout"}
    assert ids(expired) <= scheduled(started, timed_out, retried)


def test_a_cancel_withdraws_timeouts_retries_and_the_deadline(msgs) -> None:
    started = start_run(
        None, msgs.plan_created(msgs.plan({"id": "a"}, {"id": "b"})), now=msgs.now()
    )
    flaky = record_result(
        changed(started), msgs.finished("a", error="flaky", retryable=True), now=msgs.now(1)
    )
    assert ids(flaky) == {"run-1:a:1:timeout"}
    state = changed(flaky)
    canceled = cancel_run(state, msgs.cancel(state.seq), now=msgs.now(2))
    assert ids(canceled) == {"run-1:a:2:retry", "run-1:b:1:timeout", "run-1:-:0:deadline"}
    assert ids(canceled) <= scheduled(started, flaky)
    # A restart schedules timers of a new generation and new attempts: none is withdrawn,
    # and none has the identity of one withdrawn before.
    restarted = restart_run(changed(canceled), msgs.restart(), now=msgs.now(3))
    assert restarted.withdrawals == ()
    assert not scheduled(restarted) & ids(canceled)


def test_no_transition_edits_the_state_it_was_given(msgs) -> None:
    """The coordinator keeps the states it wrote and decides the next change from them."""

    def check(state: ExecutorRunState, apply) -> Transition:  # type: ignore[no-untyped-def]
        before = state.model_dump_json()
        t = apply(state)
        assert state.model_dump_json() == before
        return t

    plan = msgs.plan({"id": "a"}, {"id": "b", "input": {"x": "{{steps.a.output}}"}})
    defaults = RunDefaults(state_budget_bytes=16 * 1024)  # large outputs move out: compaction
    started = start_run(None, msgs.plan_created(plan), now=msgs.now(), defaults=defaults)
    state = changed(started)
    big = "x" * 40_000
    recorded = check(state, lambda s: record_result(s, msgs.finished("a", big), now=msgs.now(1)))
    assert recorded.uploads, "the output moved to the object store"
    state = changed(recorded)
    timed = check(
        state, lambda s: time_out_step(s, timer(recorded, StepTimeoutDue, "b"), now=msgs.now(40))
    )
    state = changed(timed)
    retried = check(state, lambda s: retry_step(s, timer(timed, RetryDue, "b"), now=msgs.now(41)))
    state = changed(retried)
    canceled = check(state, lambda s: cancel_run(s, msgs.cancel(s.seq), now=msgs.now(42)))
    state = changed(canceled)
    restarted = check(state, lambda s: restart_run(s, msgs.restart(), now=msgs.now(43)))
    state = changed(restarted)
    deadline = timer(restarted, RunDeadlineDue)
    check(state, lambda s: expire_run(s, deadline, now=msgs.now(44)))


def test_moving_a_dispatched_input_out_leaves_the_given_state_alone(msgs) -> None:
    """Compaction edits a step the transition did not otherwise touch (`b`'s input)."""
    plan = msgs.plan(
        {"id": "a", "input": {"x": "y" * 10_000}}, {"id": "b", "input": {"x": "w" * 12_000}}
    )
    defaults = RunDefaults(state_budget_bytes=50_000)
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now(), defaults=defaults))
    before = state.model_dump_json()
    t = record_result(state, msgs.finished("a", "z" * 10_000), now=msgs.now(1))
    assert t.uploads
    assert changed(t).steps["b"].input == {"x": None}
    assert state.model_dump_json() == before
    assert state.steps["b"].input == {"x": "w" * 12_000}
