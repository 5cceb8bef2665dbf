"""`repeat <text> <n> times`: the rule behind large-output demos and tests."""

from __future__ import annotations

import pytest

from pulse_contracts import PlanningFailed
from pulse_planner.domain.planner import RuleBasedPlanner


def test_repeat_a_text_then_the_result() -> None:
    plan = RuleBasedPlanner().plan('repeat "ab" 300000 times, then repeat the result 2 times')
    first, second = plan.steps
    assert (first.tool, first.input) == ("text.repeat", {"text": "ab", "times": 300000})
    assert (second.tool, second.input) == (
        "text.repeat",
        {"text": "{{steps.s1.output}}", "times": 2},
    )
    assert second.depends_on == ["s1"]


def test_the_result_needs_an_earlier_step() -> None:
    with pytest.raises(PlanningFailed, match="earlier step"):
        RuleBasedPlanner().plan("repeat the result 3 times")
