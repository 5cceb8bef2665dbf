from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pulse_agent_adapter.adapters import InMemoryTodoStore
from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import (
    CalculatorTool,
    LlmCompleteTool,
    TodoAddTool,
    ToolContext,
    ToolRegistry,
    execute_task,
)
from pulse_agent_adapter.llm import local_gateway
from pulse_contracts import DispatchTask, ErrorCode, JsonValue, ToolFailed, task_message_id


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=5)
        return self.now


class ScriptedTool:
    """Does whatever the test tells it to."""

    description = "test tool"
    input_schema: dict[str, JsonValue] = {"type": "object"}

    def __init__(self, name: str, behaviour: object) -> None:
        self.name = name
        self.behaviour = behaviour

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        if isinstance(self.behaviour, BaseException):
            raise self.behaviour
        if self.behaviour == "sleep":
            await asyncio.sleep(10)
        return self.behaviour  # type: ignore[return-value]


def registry(*extra: ScriptedTool) -> ToolRegistry:
    return ToolRegistry(
        [
            CalculatorTool(),
            TodoAddTool(InMemoryTodoStore()),
            LlmCompleteTool(local_gateway(Settings(llm_max_tokens=64))),
            *extra,
        ]
    )


def task(tool: str, input: dict[str, JsonValue], **fields: object) -> DispatchTask:
    return DispatchTask.model_validate(
        {
            "message_id": "run-1:calc:2:dispatch",
            "run_id": "run-1",
            "tenant": "acme",
            "trace_id": "f" * 32,
            "step_id": "calc",
            "attempt": 2,
            "tool": tool,
            "input": input,
            **fields,
        }
    )


async def test_success_copies_the_task_and_carries_the_output() -> None:
    clock = FakeClock()
    done = await execute_task(
        registry(), task("calculator", {"expression": "5 * 3"}), trace_id="a" * 32, clock=clock
    )
    assert done.outcome == "succeeded"
    assert done.output == 15
    assert done.error is None
    assert done.message_id == task_message_id("run-1", "calc", 2, "result") == "run-1:calc:2:result"
    assert (done.run_id, done.tenant, done.step_id, done.attempt, done.tool) == (
        "run-1",
        "acme",
        "calc",
        2,
        "calculator",
    )
    assert done.trace_id == "a" * 32
    assert done.finished_at - done.started_at == timedelta(milliseconds=5)


async def test_unknown_tool_is_a_failed_result() -> None:
    done = await execute_task(registry(), task("shell", {"cmd": "rm -rf /"}), trace_id=None)
    assert done.outcome == "failed"
    assert done.output is None
    assert done.error is not None
    assert done.error.code is ErrorCode.TOOL_NOT_FOUND
    assert (done.error.run_id, done.error.step_id) == ("run-1", "calc")
    assert done.error.retryable is False


async def test_rejected_input_is_a_failed_result_not_an_exception() -> None:
    done = await execute_task(
        registry(), task("calculator", {"expression": "__import__('os')"}), trace_id=None
    )
    assert done.outcome == "failed"
    assert done.error is not None
    assert done.error.code is ErrorCode.TOOL_FAILED
    assert "function calls are not allowed" in done.error.message


async def test_a_tool_failure_without_a_step_gets_the_tasks_step() -> None:
    tool = ScriptedTool("grumpy", ToolFailed("no"))
    done = await execute_task(registry(tool), task("grumpy", {}), trace_id=None)
    assert done.error is not None
    assert (done.error.run_id, done.error.step_id) == ("run-1", "calc")


async def test_the_tasks_timeout_is_enforced() -> None:
    tool = ScriptedTool("slow", "sleep")
    done = await execute_task(registry(tool), task("slow", {}, timeout_s=0.05), trace_id=None)
    assert done.outcome == "failed"
    assert done.error is not None
    assert done.error.code is ErrorCode.TIMED_OUT
    assert done.error.message == "timed out after 0.05s"
    assert done.error.retryable is True


@pytest.mark.parametrize("failure", [ConnectionError("kv unreachable"), TimeoutError("nats")])
async def test_infrastructure_failures_are_raised_for_redelivery(failure: Exception) -> None:
    tool = ScriptedTool("flaky", failure)
    with pytest.raises(type(failure)):
        await execute_task(registry(tool), task("flaky", {}), trace_id=None)


async def test_an_output_that_is_not_json_is_a_failed_result() -> None:
    tool = ScriptedTool("weird", {"when": object()})
    done = await execute_task(registry(tool), task("weird", {}), trace_id=None)
    assert done.outcome == "failed"
    assert done.error is not None
    assert done.error.code is ErrorCode.INTERNAL


async def test_llm_usage_lands_in_the_result() -> None:
    done = await execute_task(
        registry(), task("llm.complete", {"prompt": "Summarise the plan"}), trace_id=None
    )
    assert done.outcome == "succeeded"
    assert isinstance(done.output, str)
    assert done.usage.prompt_tokens == 5
    assert done.usage.completion_tokens > 0
    assert done.usage.cost_usd == 0
