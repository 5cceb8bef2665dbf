"""Is a piece of text an arithmetic expression the calculator tool will take?

The planner only checks the shape; it never evaluates anything (the agent-adapter's
calculator does that, safely). Parsing with `ast` is safe: it builds a tree, runs nothing,
and the character check before it already rules out names, calls and attributes.
"""

from __future__ import annotations

import ast
import re
from typing import Final

from pulse_contracts import PlanningFailed

__all__ = ["ALLOWED_DESCRIPTION", "check_expression"]

ALLOWED_DESCRIPTION: Final = "digits, spaces, + - * / // % ** ( ) and ."
_ALLOWED: Final = re.compile(r"[0-9\s+\-*/%().]+")
_NODES: Final = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.UAdd,
    ast.USub,
)


def check_expression(expression: str, clause: str) -> str:
    """The expression, stripped; PlanningFailed saying what is wrong with it otherwise."""
    expression = expression.strip()
    if not _ALLOWED.fullmatch(expression) or not any(ch.isdigit() for ch in expression):
        raise PlanningFailed(
            f'"{clause}": "{expression}" is not an arithmetic expression; '
            f"the calculator takes {ALLOWED_DESCRIPTION} only"
        )
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise PlanningFailed(
            f'"{clause}": "{expression}" is not a well-formed arithmetic expression '
            "(check the brackets and operators)"
        ) from None
    for node in ast.walk(tree):
        if not isinstance(node, _NODES) or (
            isinstance(node, ast.Constant) and not isinstance(node.value, int | float)
        ):
            raise PlanningFailed(f'"{clause}": "{expression}" is not a plain arithmetic expression')
    return expression
