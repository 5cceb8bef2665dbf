"""The consumer in memory (TestNatsBroker): message in, result out. No durability claims."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from faststream.nats import JStream, NatsBroker, NatsMessage, TestNatsBroker
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.adapters import InMemoryTodoStore
from pulse_agent_adapter.app import build_registry
from pulse_agent_adapter.cancellation import RunningTasks
from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import ToolContext
from pulse_agent_adapter.handlers import register_handlers
from pulse_agent_adapter.llm import local_gateway
from pulse_broker import build_broker
from pulse_contracts import (
    DispatchTask,
    ErrorCode,
    JsonValue,
    TaskFinished,
    subjects,
    task_message_id,
)
from pulse_telemetry import JsonFormatter, Telemetry


class BrokenStoreTool:
    name = "broken"
    description = "A tool whose store is down."
    input_schema: dict[str, JsonValue] = {"type": "object"}

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        raise ConnectionError("KV unreachable")


class WhereAmITool:
    """Says whether its attempt is registered as running (stoppable) while it runs."""

    description = "Where the tool runs."
    input_schema: dict[str, JsonValue] = {"type": "object"}

    def __init__(self, name: str, running: RunningTasks, *, inline: bool) -> None:
        self.name = name
        self.inline = inline
        self._running = running

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        return self._running.is_running((ctx.run_id, ctx.step_id, 1))


@dataclass
class Harness:
    broker: NatsBroker
    spans: InMemorySpanExporter
    results: list[TaskFinished] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    async def dispatch(self, tool: str, input: dict[str, JsonValue], **fields: object) -> None:
        task = DispatchTask.model_validate(
            {
                "message_id": "x",
                "run_id": "run-1",
                "tenant": "acme",
                "step_id": "s1",
                "tool": tool,
                "input": input,
                **fields,
            }
        )
        await self.broker.publish(
            task.model_dump(mode="json"),
            subjects.dispatch_subject(task.agent),
            stream=subjects.STREAM_TASKS,
        )


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    settings = Settings()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry = Telemetry("agent-adapter", provider, CollectorRegistry())
    broker = build_broker(settings, telemetry)
    running = RunningTasks()
    registry = build_registry(
        settings,
        todo_store=InMemoryTodoStore(),
        llm=local_gateway(settings, tracer_provider=provider),
        extra_tools=[
            BrokenStoreTool(),
            WhereAmITool("where.inline", running, inline=True),
            WhereAmITool("where.task", running, inline=False),
        ],
    )
    register_handlers(
        broker,
        settings,
        registry=registry,
        tracer=telemetry.tracer,
        metrics=telemetry.registry,
        running=running,
    )
    h = Harness(broker, spans)

    @broker.subscriber(subjects.TASKS_RESULT, stream=JStream(subjects.STREAM_TASKS, declare=False))
    async def collect(result: TaskFinished, msg: NatsMessage) -> None:
        h.results.append(result)
        h.headers.append(dict(msg.headers))

    async with TestNatsBroker(broker) as test_broker:
        h.broker = test_broker
        yield h


async def test_dispatch_in_task_finished_out(harness: Harness) -> None:
    await harness.dispatch(
        "calculator", {"expression": "5 * 3"}, attempt=3, trace_id="0" * 31 + "1"
    )
    [done] = harness.results
    assert done.outcome == "succeeded"
    assert done.output == 15
    assert (done.run_id, done.tenant, done.step_id, done.attempt, done.tool) == (
        "run-1",
        "acme",
        "s1",
        3,
        "calculator",
    )
    assert harness.headers[0]["Nats-Msg-Id"] == task_message_id("run-1", "s1", 3, "result")
    # The trace id is the one the result was produced in, which the message's span carries.
    [span] = [s for s in harness.spans.get_finished_spans() if s.name == "execute_tool calculator"]
    assert done.trace_id == format(span.context.trace_id, "032x")
    assert span.attributes is not None
    assert span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert span.attributes["gen_ai.tool.name"] == "calculator"
    assert span.attributes["pulse.run_id"] == "run-1"
    assert span.attributes["pulse.tenant"] == "acme"
    assert span.attributes["pulse.step_id"] == "s1"
    assert span.attributes["pulse.attempt"] == 3
    assert "traceparent" in harness.headers[0]
    # The run travels on as baggage, for the executor's log lines and its next hops.
    baggage = dict(item.split("=", 1) for item in harness.headers[0]["baggage"].split(","))
    assert (baggage["run_id"], baggage["tenant"]) == ("run-1", "acme")


async def test_cheap_tools_run_inline_and_the_others_in_a_stoppable_task(
    harness: Harness,
) -> None:
    await harness.dispatch("where.inline", {}, step_id="a")
    await harness.dispatch("where.task", {}, step_id="b")
    assert [(r.step_id, r.output) for r in harness.results] == [("a", False), ("b", True)]
    # Both are the same kind of step to everyone else: a span, a result, a duration.
    names = [s.name for s in harness.spans.get_finished_spans()]
    assert {"execute_tool where.inline", "execute_tool where.task"} <= set(names)


async def test_unknown_tool_gives_a_failed_result(harness: Harness) -> None:
    await harness.dispatch("shell", {"cmd": "ls"})
    [done] = harness.results
    assert done.outcome == "failed"
    assert done.error is not None
    assert done.error.code is ErrorCode.TOOL_NOT_FOUND
    [span] = [s for s in harness.spans.get_finished_spans() if s.name == "execute_tool shell"]
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "tool_not_found"


async def test_bad_input_gives_a_failed_result(harness: Harness) -> None:
    await harness.dispatch("calculator", {"expression": "__import__('os')"})
    [done] = harness.results
    assert done.outcome == "failed"
    assert done.error is not None
    assert done.error.code is ErrorCode.TOOL_FAILED
    assert "function calls are not allowed" in done.error.message


async def test_todos_through_the_handler(harness: Harness) -> None:
    await harness.dispatch("todo.add", {"text": 15}, step_id="add")
    await harness.dispatch("todo.add", {"text": 15}, step_id="add", attempt=2)
    await harness.dispatch("todo.list", {}, step_id="list")
    *_, listed = harness.results
    assert listed.output == {
        "todos": [
            {
                "id": "run-1:add",
                "text": "15",
                "run_id": "run-1",
                "step_id": "add",
                "created_at": harness.results[0].output["created_at"],  # type: ignore[index,call-overload]
            }
        ]
    }


async def test_llm_usage_is_reported(harness: Harness) -> None:
    await harness.dispatch("llm.complete", {"prompt": "Summarise the todo list"})
    [done] = harness.results
    assert done.outcome == "succeeded"
    assert isinstance(done.output, str)
    assert done.usage.prompt_tokens == 6
    assert done.usage.completion_tokens > 0


async def test_an_llm_step_is_one_span_tree_that_names_its_run(harness: Harness) -> None:
    await harness.dispatch("llm.complete", {"prompt": "Summarise the todo list"})
    spans = harness.spans.get_finished_spans()
    [tool] = [s for s in spans if s.name == "execute_tool llm.complete"]
    [llm] = [s for s in spans if s.name == "llm default"]
    [chat] = [s for s in spans if s.name == "chat offline-1"]
    assert llm.parent is not None
    assert chat.parent is not None
    assert tool.context is not None
    assert llm.context is not None
    assert llm.parent.span_id == tool.context.span_id
    assert chat.parent.span_id == llm.context.span_id
    assert (chat.attributes or {})["gen_ai.system"] == "offline"
    assert (chat.attributes or {})["gen_ai.usage.input_tokens"] == 6
    for span in (tool, llm, chat):
        attributes = span.attributes or {}
        assert attributes["pulse.run_id"] == "run-1"
        assert attributes["pulse.tenant"] == "acme"
        assert attributes["pulse.step_id"] == "s1"
    # The consume span around it (FastStream's) names the run as well.
    [consume] = [s for s in spans if tool.parent and s.context.span_id == tool.parent.span_id]
    assert (consume.attributes or {})["pulse.run_id"] == "run-1"


async def test_infrastructure_failure_raises_and_publishes_nothing(harness: Harness) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - see below
        await harness.dispatch("broken", {})
    # The dead-letter middleware reads JetStream metadata when a handler raises, which an
    # in-memory message lacks (nats-py raises NotJSMessageError): the handler's own error
    # is then the context. Against a real server it is redelivered (test_service.py).
    error = caught.value
    assert isinstance(error, ConnectionError) or isinstance(error.__context__, ConnectionError)
    assert harness.results == []


async def test_one_log_line_per_task_with_its_duration(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pulse.agent_adapter"):
        await harness.dispatch("calculator", {"expression": "1 / 0"})
    [line] = [r for r in caplog.records if r.name == "pulse.agent_adapter"]
    assert line.levelno == logging.WARNING
    assert line.outcome == "failed"  # type: ignore[attr-defined]
    assert line.error_code == "tool_failed"  # type: ignore[attr-defined]
    assert isinstance(line.duration_ms, float)  # type: ignore[attr-defined]
    assert line.tool == "calculator"  # type: ignore[attr-defined]


class JsonLines(logging.Handler):
    """The lines the service would write, formatted as they are emitted (the run's ids and
    the trace are read from the context at that moment)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter("agent-adapter"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_the_tool_line_never_holds_its_input_or_output(harness: Harness) -> None:
    secret = "buy oat milk for xyzzy"
    capture = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.INFO)
    try:
        await harness.dispatch("todo.add", {"text": secret})
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    [done] = harness.results
    assert done.outcome == "succeeded"
    lines = [json.loads(line) for line in capture.lines]
    assert all(secret not in json.dumps(line) for line in lines)
    [line] = [x for x in lines if x["message"] == "task todo.add succeeded"]
    assert line["level"] == "info"
    assert line["tool"] == "todo.add"
    assert line["outcome"] == "succeeded"
    assert line["error_code"] is None
    assert line["duration_ms"] >= 0
    assert (line["run_id"], line["tenant"], line["step_id"]) == ("run-1", "acme", "s1")
    assert line["trace_id"] == done.trace_id
