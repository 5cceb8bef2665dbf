from __future__ import annotations

import pytest

from pulse_agent_adapter.domain import CalculationError, CalculatorTool, ToolContext, evaluate
from pulse_agent_adapter.domain.calculator import MAX_EXPRESSION_LENGTH
from pulse_contracts import ErrorCode, ToolFailed


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("5 * 3", 15),
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("2 ** 3 ** 2", 512),  # right-associative, like Python
        ("-2 ** 2", -4),  # unary minus binds looser than **
        ("(-2) ** 2", 4),
        ("--3", 3),
        ("+4 - -1", 5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("((1 + 2) * (3 + 4)) - 1", 20),
        ("  1 + 1  ", 2),
        ("1_000 + 1", 1001),
    ],
)
def test_precedence_parentheses_and_unary(expression: str, expected: int) -> None:
    assert evaluate(expression) == expected


def test_integral_results_are_ints_and_others_floats() -> None:
    assert evaluate("100 / 4") == 25
    assert type(evaluate("100 / 4")) is int
    assert type(evaluate("5 * 3")) is int
    assert type(evaluate("2.5 * 2")) is int
    assert evaluate("1 / 4") == 0.25
    assert type(evaluate("1 / 4")) is float
    assert evaluate("0.1 + 0.2") == pytest.approx(0.3)
    assert evaluate("2 ** -1") == 0.5
    assert evaluate("1e3") == 1000


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "function calls are not allowed"),
        ("__import__('os').system('true')", "function calls are not allowed"),
        ("abs(-1)", "function calls are not allowed"),
        ("x + 1", "names are not allowed"),
        ("(1).real", "attribute access is not allowed"),
        ("(1).__class__", "attribute access is not allowed"),
        ("[1][0]", "subscripts are not allowed"),
        ("lambda: 1", "lambdas are not allowed"),
        ("1 < 2", "comparisons are not allowed"),
        ("1 and 2", "boolean operators are not allowed"),
        ("'a' * 3", "only numbers are allowed"),
        ("True + 1", "only numbers are allowed"),
        ("1j * 2", "only numbers are allowed"),
        ("1 << 3", "BinOp is not allowed"),
        ("~1", "UnaryOp is not allowed"),
        ("[1, 2]", "List is not allowed"),
    ],
)
def test_refuses_everything_but_arithmetic(expression: str, reason: str) -> None:
    with pytest.raises(CalculationError, match=reason):
        evaluate(expression)


@pytest.mark.parametrize(
    "expression",
    ["", "1 +", "import os", "x = 1", "1; 2", "1 +\x00 2", "(" * 300 + "1" + ")" * 300],
)
def test_refuses_what_is_not_an_expression(expression: str) -> None:
    with pytest.raises(CalculationError):
        evaluate(expression)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("2 ** 101", "exponent 101 is out of range"),
        ("2 ** -101", "exponent -101 is out of range"),
        ("10 ** 100 ** 100", "out of range"),
        ("(10 ** 50) ** 50", "more than 1000 digits"),
        ("(10 ** 100) ** 11", "more than 1000 digits"),
    ],
)
def test_bounds_exponents_and_magnitudes(expression: str, reason: str) -> None:
    with pytest.raises(CalculationError, match=reason):
        evaluate(expression)


def test_bounds_products_of_large_numbers() -> None:
    big = "10 ** 100"
    assert evaluate(" * ".join([big] * 10)) == 10**1000
    with pytest.raises(CalculationError, match="more than 1000 digits"):
        evaluate(" * ".join([big] * 11))


def test_non_finite_and_non_real_results_are_refused() -> None:
    with pytest.raises(CalculationError, match="not a finite number"):
        evaluate("1e308 * 10")
    with pytest.raises(CalculationError, match="not a real number"):
        evaluate("(-8) ** 0.5")
    with pytest.raises(CalculationError, match="too large"):
        evaluate("(10 ** 100) ** 4 / 3")


@pytest.mark.parametrize("expression", ["1 / 0", "1 // 0", "1 % 0", "1.5 / 0.0", "0 ** -1"])
def test_division_by_zero(expression: str) -> None:
    with pytest.raises(CalculationError, match="division by zero"):
        evaluate(expression)


def test_length_limit() -> None:
    ok = "1+" * ((MAX_EXPRESSION_LENGTH - 1) // 2) + "1"
    assert len(ok) <= MAX_EXPRESSION_LENGTH
    assert evaluate(ok) == (MAX_EXPRESSION_LENGTH - 1) // 2 + 1
    with pytest.raises(CalculationError, match="the limit is 500"):
        evaluate("1+" * 250 + "1")


CTX = ToolContext(run_id="run-1", step_id="calc", tenant="acme")


async def test_tool_returns_the_number() -> None:
    assert await CalculatorTool().run({"expression": "5 * 3"}, CTX) == 15


async def test_tool_turns_refusals_into_tool_failed_with_the_step() -> None:
    with pytest.raises(ToolFailed) as caught:
        await CalculatorTool().run({"expression": "__import__('os')"}, CTX)
    info = caught.value.to_info()
    assert info.code is ErrorCode.TOOL_FAILED
    assert "function calls are not allowed" in info.message
    assert (info.run_id, info.step_id) == ("run-1", "calc")


@pytest.mark.parametrize(
    "bad_input",
    [{}, {"expression": 15}, {"expression": ""}, {"expression": "1", "extra": 1}],
)
async def test_tool_rejects_malformed_input(bad_input: dict[str, object]) -> None:
    with pytest.raises(ToolFailed, match="invalid input"):
        await CalculatorTool().run(bad_input, CTX)  # type: ignore[arg-type]


def test_tool_describes_its_input() -> None:
    schema = CalculatorTool().input_schema
    assert schema["required"] == ["expression"]
    assert schema["properties"]["expression"]["maxLength"] == MAX_EXPRESSION_LENGTH  # type: ignore[index,call-overload]
