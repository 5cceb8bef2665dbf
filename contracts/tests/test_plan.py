from __future__ import annotations

import pytest
from pydantic import ValidationError

from pulse_contracts import Plan, PlanStep, iter_references, topological_order


def _step(sid: str, tool: str = "calculator", **kw: object) -> PlanStep:
    return PlanStep(id=sid, tool=tool, **kw)  # type: ignore[arg-type]


def test_references_imply_dependencies() -> None:
    plan = Plan(
        steps=[
            _step("a", input={"expression": "1 + 1"}),
            _step("b", input={"expression": "2"}),
            _step(
                "c",
                tool="todo.add",
                input={"text": "{{steps.a.output}} and {{ steps.b.output.value }}"},
            ),
        ]
    )
    assert plan.step("c").depends_on == ["a", "b"]
    assert plan.sinks() == ["c"]


def test_iter_references_walks_nested_values_and_paths() -> None:
    refs = list(
        iter_references({"x": ["{{steps.s1.output.items.0}}", {"y": "{{steps.s2.output}}"}]})
    )
    assert refs == [("s1", ("items", "0")), ("s2", ())]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([_step("a"), _step("a")], "duplicate step ids"),
        ([_step("a", input={"v": "{{steps.zz.output}}"})], "unknown steps"),
        ([_step("a", depends_on=["a"])], "depends on itself"),
        ([_step("a", depends_on=["b"]), _step("b", depends_on=["a"])], "cycle"),
    ],
)
def test_invalid_plans_are_refused(steps: list[PlanStep], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Plan(steps=steps)


def test_topological_order_respects_a_diamond() -> None:
    steps = [
        _step("d", depends_on=["b", "c"]),
        _step("b", depends_on=["a"]),
        _step("c", depends_on=["a"]),
        _step("a"),
    ]
    order = topological_order(steps)
    assert order.index("a") < order.index("b") < order.index("d")
    assert order.index("c") < order.index("d")


def test_step_ids_and_agents_must_be_subject_safe() -> None:
    with pytest.raises(ValidationError):
        _step("has.dot")
    with pytest.raises(ValidationError):
        _step("ok", agent="bad agent")
