"""The `calculator` tool: arithmetic on a parsed syntax tree, never `eval`.

Only number literals, `+ - * / // % **`, unary `+ -` and parentheses are evaluated; any
other node (a name, a call, an attribute, a subscript...) is refused before anything runs.
Exponents and magnitudes are bounded so an expression cannot make the process compute a
number with millions of digits.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from pulse_agent_adapter.domain.tools import ToolContext, parse_input
from pulse_contracts import JsonValue

__all__ = [
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_EXPRESSION_LENGTH",
    "CalculationError",
    "CalculatorInput",
    "CalculatorTool",
    "evaluate",
]

Number = int | float

MAX_EXPRESSION_LENGTH: Final = 500
MAX_EXPONENT: Final = 100
MAX_DIGITS: Final = 1000
"""No intermediate result may have more decimal digits than this."""

_MAX_BITS: Final = math.ceil(MAX_DIGITS * math.log2(10))
# Floats above 2**53 are not exact integers any more; leave them floats.
_EXACT_FLOAT_LIMIT: Final = 2**53

_BINARY: Final[dict[type[ast.operator], Callable[[Number, Number], Number]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: Final[dict[type[ast.unaryop], Callable[[Number], Number]]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_REFUSED: Final[dict[type[ast.AST], str]] = {
    ast.Name: "names are not allowed",
    ast.Call: "function calls are not allowed",
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "subscripts are not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "boolean operators are not allowed",
}


class CalculationError(ValueError):
    """The expression is not allowed, not arithmetic, or its value is out of bounds."""


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression; an integral result is returned as an `int`."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CalculationError(
            f"expression is {len(expression)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError):
        raise CalculationError(f"not an arithmetic expression: {expression!r}") from None
    try:
        value = _eval(tree.body)
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except OverflowError:
        raise CalculationError("result is too large") from None
    except (RecursionError, MemoryError):
        raise CalculationError("expression is too complex") from None
    return _normalise(value)


def _eval(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        # bool is an int subclass, but `True + 1` is not arithmetic.
        value = node.value
        if isinstance(value, int | float) and type(value) is not bool:
            return _bounded(value)
        raise CalculationError(f"only numbers are allowed, not {node.value!r}")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _bounded(_UNARY[type(node.op)](_eval(node.operand)))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            return _bounded(_power(left, right))
        if type(node.op) in _BINARY:
            return _bounded(_BINARY[type(node.op)](left, right))
    reason = _REFUSED.get(type(node), f"{type(node).__name__} is not allowed")
    raise CalculationError(f"{reason} in a calculation")


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculationError(
            f"exponent {exponent} is out of range (|exponent| <= {MAX_EXPONENT})"
        )
    if exponent > 0 and abs(base) > 1 and exponent * math.log10(abs(base)) > MAX_DIGITS:
        raise CalculationError(f"result would have more than {MAX_DIGITS} digits")
    result = base**exponent
    if isinstance(result, complex):  # e.g. (-8) ** 0.5
        raise CalculationError("result is not a real number")
    return result


def _bounded(value: Number) -> Number:
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculationError("result is not a finite number")
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise CalculationError(f"result has more than {MAX_DIGITS} digits")
    return value


def _normalise(value: Number) -> Number:
    if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_FLOAT_LIMIT:
        return int(value)
    return value


class CalculatorInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(
        min_length=1,
        max_length=MAX_EXPRESSION_LENGTH,
        description="Arithmetic with numbers, + - * / // % **, unary +/- and parentheses.",
    )


class CalculatorTool:
    name = "calculator"
    inline = True  # microseconds of pure arithmetic, bounded by the limits above
    description = (
        "Evaluate an arithmetic expression (numbers, + - * / // % **, parentheses) and "
        "return the number; integral results are integers."
    )

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return CalculatorInput.model_json_schema()

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        args = parse_input(CalculatorInput, input, ctx)
        try:
            return evaluate(args.expression)
        except CalculationError as exc:
            raise ctx.failure(str(exc)) from None
