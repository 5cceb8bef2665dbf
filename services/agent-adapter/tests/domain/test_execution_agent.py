"""`TaskFinished.agent`: `provider/model` for a step that called an LLM, else the profile."""

from __future__ import annotations

from pulse_agent_adapter.adapters import InMemoryTodoStore
from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import (
    CalculatorTool,
    LlmCompleteTool,
    TodoAddTool,
    ToolRegistry,
    execute_task,
)
from pulse_agent_adapter.llm import local_gateway
from pulse_contracts import DispatchTask, JsonValue


def _registry() -> ToolRegistry:
    llm = LlmCompleteTool(local_gateway(Settings(llm_max_tokens=64)))
    return ToolRegistry([CalculatorTool(), TodoAddTool(InMemoryTodoStore()), llm])


def _task(tool: str, input: dict[str, JsonValue]) -> DispatchTask:
    return DispatchTask(
        message_id="r:s:1:dispatch",
        run_id="r",
        step_id="s",
        tool=tool,
        agent="writer",
        input=input,
    )


async def test_a_tool_without_an_llm_call_reports_its_agent_profile() -> None:
    done = await execute_task(
        _registry(), _task("calculator", {"expression": "1+1"}), trace_id=None
    )
    assert done.agent == "writer"


async def test_an_llm_step_reports_the_provider_and_model_that_answered() -> None:
    done = await execute_task(_registry(), _task("llm.complete", {"prompt": "hi"}), trace_id=None)
    assert done.outcome == "succeeded", done.error
    assert done.agent is not None
    provider, model = done.agent.split("/", 1)
    assert (provider, bool(model)) == ("offline", True)
