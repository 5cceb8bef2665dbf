from __future__ import annotations

import pytest

from pulse_contracts import PlanningFailed
from pulse_planner.domain.arithmetic import check_expression


@pytest.mark.parametrize(
    "expression",
    ["5 * 3", "12*7", "100 / 4", "7 // 2", "7 % 3", "2 ** 10", "(1 + 2) * 3", "-4 + 1.5", " 42 "],
)
def test_plain_arithmetic_is_accepted(expression: str) -> None:
    assert check_expression(expression, "clause") == expression.strip()


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "not an arithmetic expression"),
        ("the capital of France", "not an arithmetic expression"),
        ("2 ^ 3", "not an arithmetic expression"),
        ("1,000 + 1", "not an arithmetic expression"),
        ("...", "not an arithmetic expression"),
        ("(1 + 2", "not a well-formed"),
        ("5 *", "not a well-formed"),
        ("5 3", "not a well-formed"),
        ("5()", "not a plain arithmetic expression"),
        ("(" * 300 + "1" + ")" * 300, "not a well-formed"),
    ],
)
def test_anything_else_is_refused_with_a_reason(expression: str, reason: str) -> None:
    with pytest.raises(PlanningFailed, match=reason) as caught:
        check_expression(expression, "calculate it")
    assert '"calculate it"' in caught.value.message
