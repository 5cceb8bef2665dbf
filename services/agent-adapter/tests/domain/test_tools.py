from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.domain import CalculatorTool, TextRepeatTool, ToolContext, ToolRegistry
from pulse_agent_adapter.tool_metrics import MeteredTool, ToolMetrics
from pulse_contracts import ErrorCode, JsonValue, ToolNotFound


class EchoTool:
    name = "echo"
    description = "Return the input."
    input_schema: dict[str, JsonValue] = {"type": "object"}

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        return dict(input)


def test_get_and_list() -> None:
    registry = ToolRegistry([EchoTool(), CalculatorTool()])
    assert registry.get("echo").name == "echo"
    assert [tool.name for tool in registry.list()] == ["calculator", "echo"]
    assert "echo" in registry
    assert "nope" not in registry


def test_unknown_tool_raises_tool_not_found_with_the_step() -> None:
    registry = ToolRegistry([EchoTool()])
    with pytest.raises(ToolNotFound) as caught:
        registry.get("shell", run_id="run-1", step_id="s1")
    info = caught.value.to_info()
    assert info.code is ErrorCode.TOOL_NOT_FOUND
    assert "'shell'" in info.message
    assert "echo" in info.message
    assert (info.run_id, info.step_id) == ("run-1", "s1")


def test_names_are_unique() -> None:
    registry = ToolRegistry([EchoTool()])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(EchoTool())


def test_only_tools_that_say_so_run_inline() -> None:
    metrics = ToolMetrics.on(CollectorRegistry())
    registry = ToolRegistry(
        [EchoTool(), MeteredTool(CalculatorTool(), metrics), MeteredTool(TextRepeatTool(), metrics)]
    )
    assert registry.runs_inline("calculator")  # through the metrics wrapper too
    assert registry.runs_inline("text.repeat")
    assert not registry.runs_inline("echo")  # no `inline` attribute: a task of its own
    assert registry.runs_inline("shell")  # unknown: the answer is an immediate failure
