from __future__ import annotations

import pytest

from pulse_contracts import ErrorCode, Plan, PlanCreated, PlanRejected, RunRequested
from pulse_planner.domain import RuleBasedPlanner, plan_message_id, plan_run


def _request(prompt: str) -> RunRequested:
    return RunRequested(message_id="run:r-1:requested", run_id="r-1", tenant="acme", prompt=prompt)


def test_a_planned_goal_becomes_plan_created() -> None:
    outcome = plan_run(RuleBasedPlanner(), _request("calculate 1 + 1"), trace_id="ab" * 16)
    assert isinstance(outcome, PlanCreated)
    assert outcome.message_id == "run:r-1:plan"
    assert (outcome.run_id, outcome.tenant, outcome.trace_id) == ("r-1", "acme", "ab" * 16)
    assert outcome.prompt == "calculate 1 + 1"
    assert outcome.planner == "rule-based"
    assert [s.tool for s in outcome.plan.steps] == ["calculator"]


def test_the_requests_deadline_travels_with_the_plan() -> None:
    request = _request("calculate 1 + 1").model_copy(update={"deadline_s": 90.0})
    outcome = plan_run(RuleBasedPlanner(), request, trace_id=None)
    assert isinstance(outcome, PlanCreated)
    assert outcome.deadline_s == 90.0
    assert plan_run(RuleBasedPlanner(), _request("calculate 1"), trace_id=None).deadline_s is None  # type: ignore[union-attr]


def test_an_unplannable_goal_becomes_plan_rejected_with_the_run_id() -> None:
    outcome = plan_run(RuleBasedPlanner(), _request("make me a sandwich"), trace_id=None)
    assert isinstance(outcome, PlanRejected)
    assert outcome.message_id == plan_message_id("r-1") == "run:r-1:plan"
    assert outcome.error.code is ErrorCode.PLANNING_FAILED
    assert outcome.error.run_id == "r-1"
    assert outcome.error.retryable is False
    assert "make me a sandwich" in outcome.error.message


class _BrokenPlanner:
    name = "broken"

    def plan(self, prompt: str) -> Plan:
        raise RuntimeError("planner bug")


def test_any_other_error_propagates_so_the_message_is_retried() -> None:
    with pytest.raises(RuntimeError, match="planner bug"):
        plan_run(_BrokenPlanner(), _request("calculate 1 + 1"), trace_id=None)
