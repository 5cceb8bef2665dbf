"""Tools from the `pulse.tools` entry-point group, and per-tool metrics."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.domain import CalculatorTool, ToolContext
from pulse_agent_adapter.plugins import ENTRY_POINT_GROUP, load_plugin_tools
from pulse_agent_adapter.tool_metrics import MeteredTool, ToolMetrics
from pulse_contracts import ToolFailed


def point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_entry_points_name_a_class_or_an_instance(caplog: pytest.LogCaptureFixture) -> None:
    tools = load_plugin_tools(
        [
            point("extract", "pulse_agent_adapter.domain.extract_code:ExtractCodeTool"),
            point("calc", "pulse_agent_adapter.domain.calculator:CalculatorTool"),
            point("broken", "pulse_agent_adapter.no_such_module:Tool"),
            point("not-a-tool", "pulse_agent_adapter.domain.calculator:evaluate"),
        ]
    )
    assert [t.name for t in tools] == ["text.extract_code", "calculator"]
    assert "broken" in caplog.text
    assert "not loaded" in caplog.text


def test_installed_plugins_are_found_by_group() -> None:
    # None are installed in this repository; the lookup itself must work.
    assert load_plugin_tools() == []


async def test_metered_tools_count_calls_errors_and_time() -> None:
    registry = CollectorRegistry()
    tool = MeteredTool(CalculatorTool(), ToolMetrics.on(registry))
    ctx = ToolContext(run_id="r", step_id="s", tenant="t")
    assert await tool.run({"expression": "6 * 7"}, ctx) == 42
    with pytest.raises(ToolFailed):
        await tool.run({"expression": "1 / 0"}, ctx)
    sample = registry.get_sample_value
    assert sample("pulse_tool_calls_total", {"tool": "calculator", "outcome": "succeeded"}) == 1
    assert sample("pulse_tool_calls_total", {"tool": "calculator", "outcome": "failed"}) == 1
    assert sample("pulse_tool_errors_total", {"tool": "calculator", "code": "tool_failed"}) == 1
    assert sample("pulse_tool_call_seconds_count", {"tool": "calculator"}) == 2
    assert (tool.name, tool.version) == ("calculator", "1.0.0")
