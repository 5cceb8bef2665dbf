from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pulse_contracts import Plan, PlanStep, RunRequested, RunStatus, StepState, StepStatus
from pulse_gateway.domain import (
    is_run_id,
    may_request_again,
    new_run_id,
    new_run_state,
    ordered_steps,
    requested_message,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _state(**changes: object):  # type: ignore[no-untyped-def]
    state = new_run_state(
        run_id="r1",
        tenant="t1",
        prompt="do it",
        metadata={"k": [1, "x"]},
        trace_id="ab" * 16,
        trace_context={"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"},
        now=NOW,
    )
    return state.model_copy(update=changes)


def test_run_ids_without_key_are_random_hex() -> None:
    first, second = new_run_id("t1", None), new_run_id("t1", None)
    assert first != second
    assert re.fullmatch(r"[0-9a-f]{32}", first)


def test_run_id_with_key_is_stable_per_tenant_and_key() -> None:
    assert new_run_id("t1", "k") == new_run_id("t1", "k")
    assert new_run_id("t1", "k") != new_run_id("t2", "k")
    assert new_run_id("t1", "k") != new_run_id("t1", "k2")
    # a separator keeps ("t1", "1k") and ("t11", "k") apart
    assert new_run_id("t1", "1k") != new_run_id("t11", "k")
    assert re.fullmatch(r"[0-9a-f]{32}", new_run_id("t1", "k"))


def test_is_run_id_accepts_only_safe_kv_keys() -> None:
    assert is_run_id(new_run_id("t", None))
    assert is_run_id("abc_DEF-1")
    for bad in ("", "a" * 65, "a.b", "a*", "a>b", "a b", "é"):
        assert not is_run_id(bad), bad


def test_new_state_is_submitted_with_trace() -> None:
    state = _state()
    assert state.status is RunStatus.SUBMITTED
    assert state.created_at == state.updated_at == NOW
    assert state.trace_context["traceparent"].startswith("00-")
    assert state.seq == 0


def test_requested_message_has_a_stable_id_and_the_run_fields() -> None:
    message = requested_message(_state(), "key-1")
    assert isinstance(message, RunRequested)
    assert message.message_id == "run:r1:requested"
    assert (message.run_id, message.tenant, message.prompt) == ("r1", "t1", "do it")
    assert message.trace_id == "ab" * 16
    assert message.metadata == {"k": [1, "x"]}
    assert message.idempotency_key == "key-1"


def test_request_again_only_while_submitted_and_inside_the_duplicate_window() -> None:
    window = 120.0
    assert may_request_again(_state(), now=NOW + timedelta(seconds=5), duplicate_window_s=window)
    assert not may_request_again(
        _state(), now=NOW + timedelta(seconds=121), duplicate_window_s=window
    )
    assert not may_request_again(
        _state(status=RunStatus.WORKING), now=NOW, duplicate_window_s=window
    )
    assert not may_request_again(_state(seq=1), now=NOW, duplicate_window_s=window)


def test_steps_follow_plan_order_and_unstarted_ones_are_pending() -> None:
    plan = Plan(
        steps=[
            PlanStep(id="b", tool="calculator", input={"expression": "1+1"}),
            PlanStep(id="a", tool="todo_add", input={"text": "{{steps.b.output}}"}),
        ]
    )
    done = StepState(step_id="b", tool="calculator", status=StepStatus.COMPLETED, output=2)
    stray = StepState(step_id="z", tool="other")
    state = _state(plan=plan, steps={"z": stray, "b": done})
    steps = ordered_steps(state)
    assert [s.step_id for s in steps] == ["b", "a", "z"]
    assert steps[0].output == 2
    assert steps[1].status is StepStatus.PENDING
    assert steps[1].input == {"text": "{{steps.b.output}}"}


def test_steps_without_a_plan_keep_their_order() -> None:
    steps = {sid: StepState(step_id=sid, tool="t") for sid in ("s2", "s1")}
    assert [s.step_id for s in ordered_steps(_state(steps=steps))] == ["s2", "s1"]
