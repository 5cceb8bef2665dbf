from __future__ import annotations

from pulse_contracts import (
    CancelTask,
    DispatchTask,
    ErrorCode,
    RunEventBase,
    RunState,
    RunStatus,
    StepStatus,
    TimerBase,
    Usage,
    event_message_id,
    task_message_id,
)
from pulse_executor.domain import (
    ExecutorRunState,
    Transition,
    implied_effects,
    record_result,
    reject_run,
    start_run,
)


def labels(transition: Transition, *, timers: bool = False) -> list[str]:
    """Effects as short labels: `run.started`, `step.dispatched:b`, `dispatch:b`; with
    `timers`, also `timeout:b`, `retry:b`, `deadline` and `cancel:b`."""
    out = []
    for e in transition.effects:
        if isinstance(e, DispatchTask):
            out.append(f"dispatch:{e.step_id}")
        elif isinstance(e, TimerBase | CancelTask):
            if timers:
                step = getattr(e, "step_id", None)
                kind = e.kind if isinstance(e, TimerBase) else "cancel"
                out.append(f"{kind}:{step}" if step else kind)
        else:
            assert isinstance(e, RunEventBase)
            step = getattr(e, "step_id", None)
            out.append(f"{e.type}:{step}" if step else e.type)
    return out


def dispatched(transition: Transition) -> dict[str, DispatchTask]:
    return {e.step_id: e for e in transition.effects if isinstance(e, DispatchTask)}


def seqs(transition: Transition) -> list[int]:
    return [e.seq for e in transition.effects if isinstance(e, RunEventBase)]


def changed(transition: Transition) -> ExecutorRunState:
    assert transition.changed, transition.note
    assert transition.state is not None
    return transition.state


def test_linear_run_resolves_references_and_completes(msgs) -> None:
    plan = msgs.plan(
        {"id": "a", "tool": "calculator", "input": {"expression": "5 * 3"}},
        {
            "id": "b",
            "tool": "todo_add",
            "input": {"title": "result {{steps.a.output.value}}", "raw": "{{steps.a.output}}"},
        },
        {"id": "c", "input": {"n": "{{steps.b.output.id}}"}},
    )
    t = start_run(
        None,
        msgs.plan_created(plan),
        now=msgs.now(),
        trace_id="ab" * 16,
        trace_context={"traceparent": "tp"},
    )
    state = changed(t)
    assert state.status is RunStatus.WORKING
    assert state.plan == plan
    assert state.planner == "rule-based"
    assert (state.trace_id, state.trace_context) == ("ab" * 16, {"traceparent": "tp"})
    assert {s: st.status for s, st in state.steps.items()} == {
        "a": StepStatus.DISPATCHED,
        "b": StepStatus.PENDING,
        "c": StepStatus.PENDING,
    }
    assert labels(t) == ["run.started", "step.dispatched:a", "dispatch:a"]
    task = dispatched(t)["a"]
    assert task.message_id == task_message_id("run-1", "a", 1, "dispatch")
    assert (task.tool, task.agent, task.attempt, task.input) == (
        "calculator",
        "default",
        1,
        {"expression": "5 * 3"},
    )
    assert task.trace_id == "ab" * 16
    assert task.tenant == "acme"

    t = record_result(state, msgs.finished("a", {"value": 15}, tokens=10), now=msgs.now(3))
    state = changed(t)
    assert labels(t) == ["step.completed:a", "step.dispatched:b", "dispatch:b"]
    assert dispatched(t)["b"].input == {"title": "result 15", "raw": {"value": 15}}
    assert state.steps["b"].input == {"title": "result 15", "raw": {"value": 15}}
    assert state.steps["a"].output == {"value": 15}
    assert state.steps["a"].duration_ms == 1000

    t = record_result(state, msgs.finished("b", {"id": 7}, tokens=5), now=msgs.now(4))
    state = changed(t)
    assert dispatched(t)["c"].input == {"n": 7}

    t = record_result(state, msgs.finished("c", "done"), now=msgs.now(5))
    state = changed(t)
    assert labels(t) == ["step.completed:c", "run.completed"]
    assert state.status is RunStatus.COMPLETED
    assert state.result == "done"
    assert state.usage == Usage(prompt_tokens=15, completion_tokens=15, cost_usd=0.015)
    completed = t.effects[-1]
    assert completed.result == "done"
    assert completed.usage == state.usage
    assert completed.message_id == event_message_id("run-1", "run.completed")
    assert [e.seq for e in state.emitted] == list(range(1, state.seq + 1))
    assert state.seq == 8  # started, 3 x (dispatched, completed), completed


def test_fan_out_dispatches_every_independent_step_at_once_and_fans_in(msgs) -> None:
    plan = msgs.plan(
        {"id": "root"},
        *({"id": f"w{i}", "input": {"part": i, "src": "{{steps.root.output}}"}} for i in range(3)),
        {
            "id": "join",
            "input": {"all": ["{{steps.w0.output}}", "{{steps.w1.output}}", "{{steps.w2.output}}"]},
        },
    )
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    t = record_result(state, msgs.finished("root", "R"), now=msgs.now(1))
    state = changed(t)
    assert sorted(dispatched(t)) == ["w0", "w1", "w2"]
    assert all(task.input["src"] == "R" for task in dispatched(t).values())
    for i, sid in enumerate(["w2", "w0"]):
        t = record_result(state, msgs.finished(sid, sid.upper()), now=msgs.now(2 + i))
        state = changed(t)
        assert dispatched(t) == {}
    t = record_result(state, msgs.finished("w1", "W1"), now=msgs.now(5))
    state = changed(t)
    assert dispatched(t)["join"].input == {"all": ["W0", "W1", "W2"]}
    state = changed(record_result(state, msgs.finished("join", 3), now=msgs.now(6)))
    assert state.status is RunStatus.COMPLETED
    assert state.result == 3


def test_diamond_and_several_sinks(msgs) -> None:
    plan = msgs.plan(
        {"id": "a"},
        {"id": "b", "depends_on": ["a"]},
        {"id": "c", "depends_on": ["a"]},
        {"id": "d", "depends_on": ["b", "c"]},
        {"id": "e", "depends_on": ["a"]},
    )
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    t = record_result(state, msgs.finished("a", 1), now=msgs.now(1))
    state = changed(t)
    assert sorted(dispatched(t)) == ["b", "c", "e"]
    state = changed(record_result(state, msgs.finished("b", 2), now=msgs.now(2)))
    assert state.steps["d"].status is StepStatus.PENDING
    t = record_result(state, msgs.finished("c", 3), now=msgs.now(3))
    state = changed(t)
    assert list(dispatched(t)) == ["d"]
    state = changed(record_result(state, msgs.finished("e", "E"), now=msgs.now(4)))
    t = record_result(state, msgs.finished("d", "D"), now=msgs.now(5))
    state = changed(t)
    assert state.status is RunStatus.COMPLETED
    assert state.result == {"d": "D", "e": "E"}


def test_start_keeps_what_the_gateway_stored(msgs) -> None:
    submitted = ExecutorRunState(
        run_id="run-1", tenant="acme", prompt="p", metadata={"k": "v"}, created_at=msgs.now(-5)
    )
    state = changed(start_run(submitted, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()))
    assert state.metadata == {"k": "v"}
    assert state.created_at == msgs.now(-5)
    assert state.updated_at == msgs.now()
    assert state.status is RunStatus.WORKING


def test_a_failed_step_fails_the_run_and_skips_the_rest(msgs) -> None:
    plan = msgs.plan(
        {"id": "a"}, {"id": "b"}, {"id": "c", "depends_on": ["a"]}, {"id": "d", "depends_on": ["c"]}
    )
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    t = record_result(
        state, msgs.finished("a", error="division by zero", tokens=3), now=msgs.now(1)
    )
    state = changed(t)
    # b was in flight: it is canceled and its agent told to stop.
    assert labels(t, timers=True) == ["step.failed:a", "step.canceled:b", "run.failed", "cancel:b"]
    assert state.status is RunStatus.FAILED
    assert {s: st.status for s, st in state.steps.items()} == {
        "a": StepStatus.FAILED,
        "b": StepStatus.CANCELED,
        "c": StepStatus.SKIPPED,
        "d": StepStatus.SKIPPED,
    }
    assert state.error is not None
    assert (state.error.code, state.error.message) == (ErrorCode.TOOL_FAILED, "division by zero")
    assert (state.error.run_id, state.error.step_id) == ("run-1", "a")
    assert t.effects[0].error == state.error
    assert t.effects[2].error == state.error
    b = state.steps["b"]
    assert b.error is not None
    assert (b.error.code, b.error.step_id) == (ErrorCode.CANCELED, "b")
    assert t.effects[3].reason == b.error
    assert state.usage.prompt_tokens == 3
    # b was in flight: its late result is ignored, and nothing is dispatched for a dead run.
    late = record_result(state, msgs.finished("b", "B"), now=msgs.now(2))
    assert late.outcome == "ignored"
    assert late.effects == ()


def test_a_step_failing_without_an_error_report_still_names_itself(msgs) -> None:
    state = changed(start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()))
    bare = msgs.finished("a").model_copy(update={"outcome": "failed"})
    state = changed(record_result(state, bare, now=msgs.now(1)))
    assert state.error is not None
    assert state.error.code is ErrorCode.STEP_FAILED
    assert state.error.step_id == "a"


def test_an_unresolvable_reference_fails_the_step_without_dispatching(msgs) -> None:
    plan = msgs.plan(
        {"id": "a"},
        {"id": "b", "input": {"x": "{{steps.a.output.missing}}"}},
        {"id": "c", "input": {"y": "{{steps.a.output}}"}},
        {"id": "d", "depends_on": ["b"]},
    )
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    t = record_result(state, msgs.finished("a", {"present": 1}), now=msgs.now(1))
    state = changed(t)
    assert labels(t) == ["step.completed:a", "step.failed:b", "run.failed"]
    assert dispatched(t) == {}
    assert state.steps["b"].status is StepStatus.FAILED
    assert state.steps["b"].attempt == 1
    assert state.steps["c"].status is StepStatus.SKIPPED
    assert state.error is not None
    assert state.error.code is ErrorCode.UNRESOLVED_REFERENCE
    assert state.error.step_id == "b"


def test_plan_rejected_ends_the_run(msgs) -> None:
    t = reject_run(None, msgs.plan_rejected(), now=msgs.now())
    state = changed(t)
    assert state.status is RunStatus.REJECTED
    assert state.seq == 1
    assert labels(t) == ["run.rejected"]
    assert t.effects[0].error.code is ErrorCode.PLANNING_FAILED
    again = reject_run(state, msgs.plan_rejected(), now=msgs.now(9))
    assert again.outcome == "duplicate"
    assert again.state == state
    assert again.effects == t.effects
    late_plan = start_run(state, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now(9))
    assert late_plan.outcome == "duplicate"
    assert late_plan.effects == t.effects


def test_a_rejection_after_the_run_started_is_ignored(msgs) -> None:
    state = changed(start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()))
    t = reject_run(state, msgs.plan_rejected(), now=msgs.now(1))
    assert t.outcome == "ignored"
    assert t.state == state
    assert t.effects == ()


def test_duplicate_plan_created_changes_nothing_and_republishes(msgs) -> None:
    plan = msgs.plan({"id": "a"}, {"id": "b"}, {"id": "c", "depends_on": ["a"]})
    first = start_run(None, msgs.plan_created(plan), now=msgs.now())
    state = changed(first)
    again = start_run(state, msgs.plan_created(plan), now=msgs.now(7))
    assert again.outcome == "duplicate"
    assert again.state == state
    assert again.effects == first.effects  # the same messages, ids, seqs and timestamps

    state = changed(record_result(state, msgs.finished("a", 1), now=msgs.now(1)))
    later = start_run(state, msgs.plan_created(plan), now=msgs.now(8))
    ids = {e.message_id for e in later.effects}
    # b and c are in flight: both re-dispatched; a is done: not re-dispatched.
    assert sorted(dispatched(later)) == ["b", "c"]
    assert event_message_id("run-1", "run.started") in ids


def test_duplicate_result_changes_nothing_and_republishes_what_it_caused(msgs) -> None:
    plan = msgs.plan({"id": "a"}, {"id": "b", "input": {"v": "{{steps.a.output}}"}}, {"id": "x"})
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    first = record_result(state, msgs.finished("a", 5), now=msgs.now(1))
    state = changed(first)
    again = record_result(state, msgs.finished("a", 5), now=msgs.now(9))
    assert again.outcome == "duplicate"
    assert again.state == state
    assert again.effects == first.effects
    # x is in flight too, but its dispatch went out before a's result was acknowledged:
    # only what this message's transition could have left unsent is resent.
    assert sorted(dispatched(again)) == ["b"]


def test_a_late_duplicate_does_not_resend_older_dispatches(msgs) -> None:
    plan = msgs.plan({"id": "slow"}, {"id": "a"}, {"id": "b", "depends_on": ["a"]})
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    state = changed(record_result(state, msgs.finished("a", 1), now=msgs.now(1)))
    state = changed(record_result(state, msgs.finished("b", 2), now=msgs.now(2)))
    again = record_result(state, msgs.finished("b", 2), now=msgs.now(600))
    assert again.outcome == "duplicate"
    assert dispatched(again) == {}
    assert labels(again) == ["step.completed:b"]


def test_duplicate_result_of_a_finished_run_republishes_the_terminal_event(msgs) -> None:
    state = changed(start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()))
    last = record_result(state, msgs.finished("a", "ok"), now=msgs.now(1))
    state = changed(last)
    again = record_result(state, msgs.finished("a", "ok"), now=msgs.now(5))
    assert again.outcome == "duplicate"
    assert again.effects == last.effects
    assert dispatched(again) == {}
    assert seqs(again) == [state.seq - 1, state.seq]


def test_stale_attempt_and_unknown_results_are_ignored(msgs) -> None:
    state = changed(start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()))
    retried = state.model_copy(deep=True)
    retried.steps["a"].attempt = 2
    for message in (
        msgs.finished("a", 1, attempt=1),  # older attempt
        msgs.finished("a", 1, attempt=3),  # an attempt never dispatched
        msgs.finished("ghost", 1),
    ):
        t = record_result(retried, message, now=msgs.now(1))
        assert (t.outcome, t.effects, t.state) == ("ignored", (), retried)
    unknown = record_result(None, msgs.finished("a", 1), now=msgs.now(1))
    assert unknown.outcome == "ignored"
    assert unknown.state is None


def test_transitions_never_mutate_their_input(msgs) -> None:
    plan = msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]})
    state = changed(start_run(None, msgs.plan_created(plan), now=msgs.now()))
    before = state.model_dump()
    record_result(state, msgs.finished("a", 1), now=msgs.now(1))
    record_result(state, msgs.finished("a", error="boom"), now=msgs.now(1))
    start_run(state, msgs.plan_created(plan), now=msgs.now(1))
    assert state.model_dump() == before


def test_seq_is_strictly_increasing_across_the_run(msgs) -> None:
    plan = msgs.plan({"id": "a"}, {"id": "b"}, {"id": "c", "depends_on": ["a", "b"]})
    all_seqs: list[int] = []
    t = start_run(None, msgs.plan_created(plan), now=msgs.now())
    all_seqs += seqs(t)
    for i, sid in enumerate(["b", "a", "c"]):
        t = record_result(changed(t), msgs.finished(sid, i), now=msgs.now(i + 1))
        all_seqs += seqs(t)
    assert all_seqs == list(range(1, len(all_seqs) + 1))
    assert changed(t).seq == all_seqs[-1]


def test_a_document_without_the_event_log_still_republishes_its_terminal_event(msgs) -> None:
    state = changed(start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now()))
    state = changed(record_result(state, msgs.finished("a", "ok"), now=msgs.now(1)))
    # What a writer that only knows the contract's RunState would leave behind.
    plain = ExecutorRunState.model_validate_json(
        RunState.model_validate_json(state.model_dump_json()).model_dump_json()
    )
    assert plain.emitted == []
    effects = implied_effects(plain, since_seq=None)
    assert [(e.type, e.seq) for e in effects] == [("run.completed", state.seq)]
