from __future__ import annotations

import pytest

from pulse_contracts import PlanningFailed
from pulse_planner.domain.tools import KNOWN_TOOLS


def test_the_catalogue_lists_the_tools() -> None:
    assert KNOWN_TOOLS.names() == [
        "calculator",
        "counter.increment",
        "llm.complete",
        "text.repeat",
        "todo.add",
        "todo.list",
    ]
    assert "calculator" in KNOWN_TOOLS
    assert "shell" not in KNOWN_TOOLS


def test_valid_inputs_pass() -> None:
    KNOWN_TOOLS.check("calculator", {"expression": "1 + 1"})
    KNOWN_TOOLS.check("todo.list", {})
    KNOWN_TOOLS.check("todo.add", {"text": "{{steps.s1.output}}"})
    KNOWN_TOOLS.check("counter.increment", {"key": "apples"})


@pytest.mark.parametrize(
    ("tool", "step_input", "reason"),
    [
        ("shell", {}, "unknown tool 'shell'; known tools: calculator"),
        ("calculator", {}, "missing=\\['expression'\\]"),
        ("todo.list", {"text": "x"}, "unexpected=\\['text'\\]"),
        ("llm.complete", {"prompt": 3}, "must be str, got int"),
        ("counter.increment", {}, "missing=\\['key'\\]"),
    ],
)
def test_invalid_inputs_are_planning_failures(
    tool: str, step_input: dict[str, object], reason: str
) -> None:
    with pytest.raises(PlanningFailed, match=reason):
        KNOWN_TOOLS.check(tool, step_input)  # type: ignore[arg-type]
