"""The tools a plan may use, with the inputs each one needs.

A small fixed table for now; the agent-adapter's versioned registry replaces it later, so
the planner only ever asks `ToolCatalogue.check(...)` and never spells a tool's inputs
anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from pulse_contracts import JsonValue, PlanningFailed

__all__ = [
    "CALCULATOR",
    "COUNTER_INCREMENT",
    "KNOWN_TOOLS",
    "LLM_COMPLETE",
    "TEXT_REPEAT",
    "TODO_ADD",
    "TODO_LIST",
    "ToolCatalogue",
    "ToolSpec",
]

CALCULATOR: Final = "calculator"
TODO_ADD: Final = "todo.add"
TODO_LIST: Final = "todo.list"
LLM_COMPLETE: Final = "llm.complete"
COUNTER_INCREMENT: Final = "counter.increment"
TEXT_REPEAT: Final = "text.repeat"


@dataclass(frozen=True)
class ToolSpec:
    """A tool's name, what it does, and its input fields with their JSON types."""

    name: str
    summary: str
    inputs: Mapping[str, type]


class ToolCatalogue:
    """Known tools; checks that a step's input has exactly the fields its tool takes."""

    def __init__(self, tools: Mapping[str, ToolSpec]) -> None:
        self._tools: Mapping[str, ToolSpec] = MappingProxyType(dict(tools))

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return sorted(self._tools)

    def describe(self) -> list[tuple[str, str, list[tuple[str, type]]]]:
        """(name, summary, [(input, type)]) per tool: what the LLM planner's built-in
        catalogue is made from."""
        return [
            (spec.name, spec.summary, list(spec.inputs.items()))
            for spec in (self._tools[name] for name in self.names())
        ]

    def check(self, tool: str, step_input: Mapping[str, JsonValue]) -> None:
        spec = self._tools.get(tool)
        if spec is None:
            raise PlanningFailed(f"unknown tool {tool!r}; known tools: {', '.join(self.names())}")
        missing = sorted(set(spec.inputs) - set(step_input))
        extra = sorted(set(step_input) - set(spec.inputs))
        if missing or extra:
            raise PlanningFailed(
                f"tool {tool!r} takes inputs {sorted(spec.inputs)}, "
                f"got missing={missing} unexpected={extra}"
            )
        for field, expected in spec.inputs.items():
            if not isinstance(step_input[field], expected):
                raise PlanningFailed(
                    f"tool {tool!r} input {field!r} must be {expected.__name__}, "
                    f"got {type(step_input[field]).__name__}"
                )


KNOWN_TOOLS: Final = ToolCatalogue(
    {
        spec.name: spec
        for spec in (
            ToolSpec(CALCULATOR, "Evaluates an arithmetic expression safely.", {"expression": str}),
            ToolSpec(TODO_ADD, "Adds a todo to the tenant's list.", {"text": str}),
            ToolSpec(TODO_LIST, "Lists the tenant's todos.", {}),
            ToolSpec(LLM_COMPLETE, "Completes a prompt with the agent's LLM.", {"prompt": str}),
            ToolSpec(
                COUNTER_INCREMENT, "Adds one to a tenant's counter, once per step.", {"key": str}
            ),
            ToolSpec(TEXT_REPEAT, "Repeats a text n times.", {"text": str, "times": int}),
        )
    }
)
