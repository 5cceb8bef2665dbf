from __future__ import annotations

import pytest

from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import LlmCompleteTool, ToolContext
from pulse_agent_adapter.llm import local_gateway
from pulse_contracts import ToolFailed, Usage


def ctx() -> ToolContext:
    return ToolContext(run_id="run-1", step_id="draft", tenant="acme")


async def test_returns_the_text_and_reports_usage() -> None:
    tool = LlmCompleteTool(local_gateway(Settings(llm_max_tokens=512)))
    context = ctx()
    text = await tool.run({"prompt": "Draft a release note for the calculator"}, context)
    assert isinstance(text, str)
    assert "release" in text
    assert context.usage.prompt_tokens == 10  # ceil(39 / 4)
    assert context.usage.completion_tokens > 0
    assert context.usage.cost_usd == 0


async def test_max_tokens_limits_the_completion() -> None:
    tool = LlmCompleteTool(local_gateway(Settings(llm_max_tokens=512)))
    context = ctx()
    text = await tool.run({"prompt": "Explain JetStream consumers", "max_tokens": 3}, context)
    assert isinstance(text, str)
    assert len(text) <= 12
    assert context.usage.completion_tokens <= 3


async def test_usage_adds_up_over_calls() -> None:
    context = ctx()
    context.add_usage(Usage(prompt_tokens=1, completion_tokens=2, cost_usd=0.5))
    context.add_usage(Usage(prompt_tokens=3, completion_tokens=4, cost_usd=0.25))
    assert context.usage == Usage(prompt_tokens=4, completion_tokens=6, cost_usd=0.75)


@pytest.mark.parametrize(
    "bad_input",
    [
        {},
        {"prompt": ""},
        {"prompt": 5},
        {"prompt": "hi", "max_tokens": 0},
        {"prompt": "hi", "max_tokens": "many"},
        {"prompt": "hi", "temperature": 5},
        {"prompt": "hi", "agent": "no spaces allowed"},
        {"prompt": "hi", "colour": "blue"},
    ],
)
async def test_rejects_bad_input(bad_input: dict[str, object]) -> None:
    tool = LlmCompleteTool(local_gateway(Settings(llm_max_tokens=512)))
    with pytest.raises(ToolFailed, match="invalid input"):
        await tool.run(bad_input, ctx())  # type: ignore[arg-type]
