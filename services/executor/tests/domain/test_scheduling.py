from __future__ import annotations

from pulse_contracts import StepState, StepStatus
from pulse_executor.domain import ready_steps, run_result


def _states(plan, **statuses: StepStatus) -> dict[str, StepState]:
    return {
        s.id: StepState(step_id=s.id, tool=s.tool, status=statuses.get(s.id, StepStatus.PENDING))
        for s in plan.steps
    }


def test_independent_steps_are_all_ready_together(msgs) -> None:
    plan = msgs.plan(
        {"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "join", "depends_on": ["a", "b", "c"]}
    )
    assert ready_steps(plan, _states(plan)) == ["a", "b", "c"]


def test_fan_out_after_the_root_completes(msgs) -> None:
    plan = msgs.plan(
        {"id": "root"},
        *({"id": f"leaf{i}", "input": {"x": "{{steps.root.output}}"}} for i in range(4)),
    )
    assert ready_steps(plan, _states(plan)) == ["root"]
    done = _states(plan, root=StepStatus.COMPLETED)
    assert ready_steps(plan, done) == ["leaf0", "leaf1", "leaf2", "leaf3"]


def test_diamond_waits_for_both_branches(msgs) -> None:
    plan = msgs.plan(
        {"id": "a"},
        {"id": "b", "depends_on": ["a"]},
        {"id": "c", "depends_on": ["a"]},
        {"id": "d", "depends_on": ["b", "c"]},
    )
    assert ready_steps(plan, _states(plan)) == ["a"]
    after_a = _states(plan, a=StepStatus.COMPLETED)
    assert ready_steps(plan, after_a) == ["b", "c"]
    one_branch = _states(
        plan, a=StepStatus.COMPLETED, b=StepStatus.COMPLETED, c=StepStatus.DISPATCHED
    )
    assert ready_steps(plan, one_branch) == []
    both = _states(plan, a=StepStatus.COMPLETED, b=StepStatus.COMPLETED, c=StepStatus.COMPLETED)
    assert ready_steps(plan, both) == ["d"]


def test_dispatched_and_failed_steps_are_not_ready(msgs) -> None:
    plan = msgs.plan({"id": "a"}, {"id": "b"})
    assert ready_steps(plan, _states(plan, a=StepStatus.DISPATCHED, b=StepStatus.FAILED)) == []


def test_result_is_the_single_sink_output(msgs) -> None:
    plan = msgs.plan({"id": "a"}, {"id": "b", "depends_on": ["a"]})
    steps = _states(plan)
    steps["a"].output, steps["b"].output = 1, {"v": 2}
    assert run_result(plan, steps) == {"v": 2}


def test_result_maps_every_sink_when_there_are_several(msgs) -> None:
    plan = msgs.plan(
        {"id": "a"}, {"id": "b", "depends_on": ["a"]}, {"id": "c", "depends_on": ["a"]}
    )
    steps = _states(plan)
    steps["b"].output, steps["c"].output = "B", None
    assert run_result(plan, steps) == {"b": "B", "c": None}
