"""The benchmark's goals make the DAG shapes it measures, with the rule-based planner."""

from __future__ import annotations

from pulse_planner.domain.planner import RuleBasedPlanner
from pulse_stack.bench.params import BenchParams
from pulse_stack.bench.workloads import (
    calculator_chain_goal,
    llm_chain_goal,
    llm_fanout_goal,
)


def test_the_fan_out_goal_plans_independent_llm_steps() -> None:
    plan = RuleBasedPlanner().plan(llm_fanout_goal(10, "a1b2c3"))
    assert [s.tool for s in plan.steps] == ["llm.complete"] * 10
    assert all(s.depends_on == [] for s in plan.steps)
    assert len({str(s.input["prompt"]) for s in plan.steps}) == 10


def test_the_chain_goals_plan_one_step_after_another() -> None:
    for goal, tool in (
        (llm_chain_goal(10, "d4e5f6"), "llm.complete"),
        (calculator_chain_goal(10, 7), "calculator"),
    ):
        plan = RuleBasedPlanner().plan(goal)
        assert [s.tool for s in plan.steps] == [tool] * 10
        assert [s.depends_on for s in plan.steps] == [[]] + [[f"s{i}"] for i in range(1, 10)]


def test_quick_is_smaller_than_standard() -> None:
    quick, standard = BenchParams.quick(), BenchParams.standard()
    assert quick.scale == "quick"
    assert quick.overhead_runs < standard.overhead_runs
    assert quick.fanout_repeats < standard.fanout_repeats
    assert quick.fanout_critical_path_ms == 200
    assert quick.chain_critical_path_ms == 2000
