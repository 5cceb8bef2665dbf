"""The tools of the comparison for the systems other than Pulse (standard library only).

They do what Pulse's agent-adapter tools do for the benchmark's inputs: `calculator` parses
and evaluates a small arithmetic expression (microseconds), `llm.complete` waits for the
simulated latency and answers with a short text, like Pulse's offline provider. Kept free
of third-party imports so the Temporal worker process loads nothing it does not use.
"""

from __future__ import annotations

import ast
import asyncio
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["ToolOutcome", "UnknownToolError", "calculate", "run_tool"]

_BINARY: Final[dict[type[ast.operator], Callable[[float, float], float]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class UnknownToolError(ValueError):
    """The step names a tool the comparison does not have."""


@dataclass(frozen=True)
class ToolOutcome:
    output: str
    started: float
    """Unix time the tool started, in the process that ran it."""
    finished: float


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError(f"not arithmetic: {ast.dump(node)[:80]}")


def calculate(expression: str) -> str:
    """`"2 + 3"` -> `"5"`: numbers and + - * / only, from a syntax tree, never `eval`."""
    value = _evaluate(ast.parse(expression, mode="eval"))
    return str(int(value)) if value.is_integer() else str(value)


async def run_tool(tool: str, text: str, *, llm_latency_s: float) -> ToolOutcome:
    started = time.time()
    if tool == "calculator":
        output = calculate(text)
    elif tool == "llm.complete":
        await asyncio.sleep(llm_latency_s)
        output = f"Offline answer about {text}."
    else:
        raise UnknownToolError(tool)
    return ToolOutcome(output=output, started=started, finished=time.time())
