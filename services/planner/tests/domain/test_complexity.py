"""Routing by goal complexity: simple goals to the cheaper agent, complex to the stronger."""

from __future__ import annotations

import pytest

from pulse_planner.domain import Complexity, assess_complexity


@pytest.mark.parametrize(
    "goal",
    [
        "list all todos",
        "calculate 5 * 3",
        "calculate 5 * 3, add the result as a todo, then list all todos",
        "write a haiku about the sea",
    ],
)
def test_simple_goals(goal: str) -> None:
    assert assess_complexity(goal).level is Complexity.SIMPLE


@pytest.mark.parametrize(
    "goal",
    [
        "research three caching strategies, compare their trade-offs, then design the one "
        "that fits our API and review it",
        "for each open todo, if it mentions a deadline, summarize it; otherwise count it, "
        "then list all todos",
        " ".join(["word"] * 160),
    ],
)
def test_complex_goals(goal: str) -> None:
    assessment = assess_complexity(goal)
    assert assessment.level is Complexity.COMPLEX
    assert assessment.reasons


def test_the_threshold_moves_the_line() -> None:
    goal = "calculate 1 + 1 and calculate 2 + 2, then list all todos"
    assert assess_complexity(goal, threshold=2).level is Complexity.COMPLEX
    assert assess_complexity(goal, threshold=50).level is Complexity.SIMPLE
    assert assess_complexity(goal).score == 2
