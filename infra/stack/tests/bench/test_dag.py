"""The comparison's DAG: Pulse's planner makes it of the goals, and its timings are read alike."""

from __future__ import annotations

import pytest

from pulse_planner.domain.planner import RuleBasedPlanner
from pulse_stack.bench.comparison import workload_specs
from pulse_stack.bench.dag import (
    DIAMOND,
    DagRun,
    ToolKind,
    ToolWindow,
    calculator_plan,
    critical_path_s,
    levels,
    plan_matches,
    pulse_goal,
    run_span_s,
    step_inputs,
    step_overheads_s,
)
from pulse_stack.bench.params import BenchParams
from pulse_stack.bench.tools import UnknownToolError, calculate, run_tool
from pulse_stack.bench.workloads import calculator_chain_goal


def test_the_diamond_has_three_levels_and_the_middle_one_runs_side_by_side() -> None:
    assert levels() == (("s1",), ("s2", "s3", "s4"), ("s5",))


def test_the_calculator_plan_is_the_one_the_planner_makes_of_the_goal() -> None:
    made = RuleBasedPlanner().plan(pulse_goal("calculator", "17"))
    built = calculator_plan("17", timeout_s=5.0)
    assert [(s.id, s.tool, s.input, s.depends_on) for s in built.steps] == [
        (s.id, s.tool, s.input, s.depends_on) for s in made.steps
    ]
    assert {s.timeout_s for s in built.steps} == {5.0}


@pytest.mark.parametrize(("kind", "tool"), [("calculator", "calculator"), ("llm", "llm.complete")])
def test_the_goal_plans_into_the_diamond_with_the_shared_inputs(kind: ToolKind, tool: str) -> None:
    tag = "4242"
    plan = RuleBasedPlanner().plan(pulse_goal(kind, tag))
    assert plan_matches([(s.id, s.tool, s.depends_on) for s in plan.steps], kind)
    assert [s.depends_on for s in plan.steps] == [
        [],
        ["s1"],
        ["s1"],
        ["s1"],
        ["s2", "s3", "s4"],
    ]
    assert {s.tool for s in plan.steps} == {tool}
    inputs = step_inputs(kind, tag)
    key = "expression" if kind == "calculator" else "prompt"
    assert {s.id: s.input[key] for s in plan.steps} == inputs


def test_another_shape_or_tool_is_refused() -> None:
    chain = RuleBasedPlanner().plan(calculator_chain_goal(5, 1))
    assert not plan_matches([(s.id, s.tool, s.depends_on) for s in chain.steps], "calculator")
    diamond = RuleBasedPlanner().plan(pulse_goal("calculator", "1"))
    assert not plan_matches([(s.id, s.tool, s.depends_on) for s in diamond.steps], "llm")


def windows(gap: float, tool: float) -> list[ToolWindow]:
    """The diamond with every handoff taking `gap` seconds and every tool `tool` seconds."""
    t1 = 100.0
    middle = t1 + tool + gap
    last = middle + tool + gap
    return [
        ToolWindow("s1", (), t1, t1 + tool),
        ToolWindow("s2", ("s1",), middle, middle + tool),
        ToolWindow("s3", ("s1",), middle + 0.5 * gap, middle + 0.5 * gap + tool),
        ToolWindow("s4", ("s1",), middle, middle + tool),
        ToolWindow("s5", ("s2", "s3", "s4"), last + 0.5 * gap, last + 0.5 * gap + tool),
    ]


def test_step_overhead_runs_from_the_last_predecessor_to_the_tool_start() -> None:
    gaps = step_overheads_s(windows(gap=0.01, tool=0.2))
    # s2 and s4 started 10 ms after s1 ended, s3 15 ms; s5 10 ms after s3 (the last) ended
    assert gaps == pytest.approx([0.01, 0.015, 0.01, 0.01])


def test_a_step_without_all_its_predecessors_is_skipped() -> None:
    partial = [w for w in windows(0.01, 0.2) if w.step_id != "s3"]
    assert len(step_overheads_s(partial)) == 2  # s2 and s4, not s5


def test_span_and_critical_path() -> None:
    assert run_span_s(windows(gap=0.01, tool=0.2)) == pytest.approx(0.625)
    assert critical_path_s(0.2) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="no tool windows"):
        run_span_s([])
    assert DagRun(True, 1.0, 1.25).end_to_end_s == pytest.approx(0.25)


def test_the_inputs_are_the_same_for_every_step_id() -> None:
    assert list(step_inputs("calculator", "7")) == [s.step_id for s in DIAMOND]
    assert step_inputs("calculator", "7")["s3"] == "7 + 3"
    assert step_inputs("llm", "x")["s5"] == "write note 5 of batch x"


def test_the_peer_tools_do_what_pulses_do() -> None:
    assert calculate("7 + 3") == "10"
    assert calculate("1 / 4") == "0.25"
    with pytest.raises(ValueError, match="not arithmetic"):
        calculate("__import__('os')")


async def test_a_tool_notes_when_it_ran() -> None:
    done = await run_tool("llm.complete", "a note", llm_latency_s=0.02)
    assert done.finished - done.started >= 0.015
    assert "a note" in done.output
    fast = await run_tool("calculator", "2 + 2", llm_latency_s=5)
    assert fast.output == "4"
    with pytest.raises(UnknownToolError):
        await run_tool("shell", "rm", llm_latency_s=0)


def test_the_workloads_follow_the_scale() -> None:
    standard = {s.name: s for s in workload_specs(BenchParams.standard())}
    assert (standard["W1"].runs, standard["W2"].runs, standard["W3"].runs) == (500, 100, 1000)
    assert standard["W3"].concurrency == 1000  # all at once
    assert standard["W2"].kind == "llm"
    assert standard["W2"].tool_latency_ms == 200
    assert standard["W1"].tool_latency_ms == 0
    quick = {s.name: s for s in workload_specs(BenchParams.quick())}
    assert all(quick[n].runs < standard[n].runs for n in ("W1", "W2", "W3"))
