"""Cancel and restart as pure transitions."""

from __future__ import annotations

from pulse_contracts import (
    CancelTask,
    ErrorCode,
    RetryDue,
    RunDeadlineDue,
    RunRestarted,
    RunStatus,
    StepStatus,
    event_message_id,
)
from pulse_executor.domain import (
    ExecutorRunState,
    cancel_run,
    expire_run,
    record_result,
    restart_run,
    retry_step,
    start_run,
)

from .test_retries_and_timers import timer
from .test_transitions import changed, dispatched, labels


def three_steps(msgs) -> ExecutorRunState:
    """a done, b in flight, c waiting for b."""
    plan = msgs.plan({"id": "a"}, {"id": "b"}, {"id": "c", "input": {"x": "{{steps.b.output}}"}})
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    return changed(record_result(state, msgs.finished("a", "A"), now=msgs.now(1)))


def test_cancel_stops_what_is_in_flight_and_skips_the_rest(msgs) -> None:
    state = three_steps(msgs)
    t = cancel_run(state, msgs.cancel(state.seq), now=msgs.now(2))
    state = changed(t)
    assert state.status is RunStatus.CANCELED
    assert state.error is not None
    assert (state.error.code, state.error.message) == (ErrorCode.CANCELED, "no longer needed")
    assert {s: st.status for s, st in state.steps.items()} == {
        "a": StepStatus.COMPLETED,
        "b": StepStatus.CANCELED,
        "c": StepStatus.SKIPPED,
    }
    assert labels(t, timers=True) == ["step.canceled:b", "run.canceled", "cancel:b"]
    assert t.effects[1].message_id == event_message_id("run-1", "run.canceled")
    stop = t.effects[2]
    assert isinstance(stop, CancelTask)
    assert (stop.step_id, stop.attempt, stop.reason.code) == ("b", 1, ErrorCode.CANCELED)

    again = cancel_run(state, msgs.cancel(state.seq - 2), now=msgs.now(3))
    assert (again.outcome, again.effects) == ("duplicate", t.effects)
    assert cancel_run(state, msgs.cancel(99), now=msgs.now(3)).outcome == "ignored"
    # b's agent answered anyway: ignored, nothing dispatched for a canceled run.
    late = record_result(state, msgs.finished("b", "B"), now=msgs.now(4))
    assert (late.outcome, late.effects) == ("ignored", ())


def test_cancel_before_the_plan_arrives(msgs) -> None:
    submitted = ExecutorRunState(run_id="run-1", tenant="acme", prompt="p")
    t = cancel_run(submitted, msgs.cancel(), now=msgs.now())
    state = changed(t)
    assert state.status is RunStatus.CANCELED
    assert labels(t) == ["run.canceled"]
    late_plan = start_run(state, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now(1))
    assert late_plan.outcome == "duplicate"
    assert labels(late_plan, timers=True) == ["run.canceled"]
    assert cancel_run(None, msgs.cancel(), now=msgs.now()).outcome == "ignored"


def test_a_finished_run_cannot_be_canceled(msgs) -> None:
    state = changed(start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()))
    state = changed(record_result(state, msgs.finished("a", 1), now=msgs.now(1)))
    t = cancel_run(state, msgs.cancel(state.seq), now=msgs.now(2))
    assert (t.outcome, t.state) == ("ignored", state)


def test_restart_runs_only_what_did_not_complete(msgs) -> None:
    state = three_steps(msgs)
    state = changed(cancel_run(state, msgs.cancel(state.seq), now=msgs.now(2)))
    seq_before = state.seq
    t = restart_run(state, msgs.restart(state.seq), now=msgs.now(10))
    state = changed(t)
    assert state.status is RunStatus.WORKING
    assert (state.restarts, state.error, state.result) == (1, None, None)
    assert state.deadline_at == msgs.now(10 + 3600)
    assert {s: (st.status, st.attempt) for s, st in state.steps.items()} == {
        "a": (StepStatus.COMPLETED, 1),  # its output is reused
        "b": (StepStatus.DISPATCHED, 2),  # attempt numbers continue
        "c": (StepStatus.PENDING, 0),
    }
    assert labels(t, timers=True) == [
        "run.restarted",
        "step.dispatched:b",
        "deadline",
        "dispatch:b",
        "timeout:b",
    ]
    restarted = t.effects[0]
    assert isinstance(restarted, RunRestarted)
    assert restarted.seq == seq_before + 1
    assert (restarted.restarts, restarted.steps) == (1, ["b", "c"])
    assert restarted.message_id == "run-1:-:1:run.restarted"
    deadline = timer(t, RunDeadlineDue)
    assert (deadline.message_id, deadline.generation) == ("run-1:-:1:deadline", 1)

    again = restart_run(state, msgs.restart(seq_before), now=msgs.now(11))
    assert (again.outcome, again.effects) == ("duplicate", t.effects)

    t = record_result(state, msgs.finished("b", "B", attempt=2), now=msgs.now(12))
    state = changed(t)
    assert dispatched(t)["c"].input == {"x": "B"}
    t = record_result(state, msgs.finished("c", "C"), now=msgs.now(13))
    state = changed(t)
    assert state.status is RunStatus.COMPLETED
    assert state.result == {"a": "A", "c": "C"}
    assert t.effects[-1].message_id == "run-1:-:1:run.completed"
    assert [m.seq for m in state.emitted] == list(range(1, state.seq + 1))


def test_the_deadline_of_an_earlier_life_is_ignored(msgs) -> None:
    t = start_run(None, msgs.plan_created(msgs.plan({"id": "a"}), deadline_s=60), now=msgs.now())
    first_deadline = timer(t, RunDeadlineDue)
    state = changed(expire_run(changed(t), first_deadline, now=msgs.now(60)))
    assert state.status is RunStatus.FAILED
    state = changed(restart_run(state, msgs.restart(state.seq), now=msgs.now(61)))
    assert state.deadline_at == msgs.now(121)
    stale = expire_run(
        state, first_deadline.model_copy(update={"message_id": "x"}), now=msgs.now(62)
    )
    assert stale.outcome == "ignored"


def test_retries_count_from_the_restart(msgs) -> None:
    plan = msgs.plan({"id": "a", "retry": {"max_attempts": 2, "jitter": 0}})
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    for attempt in (1, 2):
        t = record_result(
            state,
            msgs.finished("a", error="flaky", attempt=attempt, retryable=True),
            now=msgs.now(attempt),
        )
        state = changed(t)
        if attempt == 1:
            state = changed(retry_step(state, timer(t, RetryDue, "a"), now=msgs.now(1)))
    assert state.status is RunStatus.FAILED
    state = changed(restart_run(state, msgs.restart(state.seq), now=msgs.now(5)))
    assert state.steps["a"].attempt == 3
    t = record_result(
        state, msgs.finished("a", error="flaky", attempt=3, retryable=True), now=msgs.now(6)
    )
    assert changed(t).steps["a"].status is StepStatus.RETRYING
    assert timer(t, RetryDue, "a").message_id == "run-1:a:4:retry"


def test_restart_needs_a_failed_or_canceled_run_in_the_state_seen(msgs) -> None:
    state = three_steps(msgs)
    assert restart_run(state, msgs.restart(state.seq), now=msgs.now(2)).outcome == "ignored"
    state = changed(cancel_run(state, msgs.cancel(state.seq), now=msgs.now(2)))
    assert restart_run(state, msgs.restart(state.seq - 1), now=msgs.now(3)).outcome == "ignored"
    assert restart_run(state, msgs.restart(None), now=msgs.now(3)).changed
    assert restart_run(None, msgs.restart(None), now=msgs.now(3)).outcome == "ignored"
