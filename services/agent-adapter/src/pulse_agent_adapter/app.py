"""Composition root: settings -> telemetry -> broker -> adapters -> tools -> handlers -> app."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from faststream.asgi import AsgiFastStream

from pulse_agent_adapter.adapters import HttpGetTool, NatsKvCounterStore, NatsKvTodoStore
from pulse_agent_adapter.blobs import LargeValues
from pulse_agent_adapter.catalogue import publish_catalogue
from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import (
    CalculatorTool,
    CompletionService,
    CounterIncrementTool,
    CounterStore,
    ExtractCodeTool,
    LlmBatchTool,
    LlmCompleteTool,
    LlmJudgeTool,
    TextRepeatTool,
    TodoAddTool,
    TodoListTool,
    TodoStore,
    Tool,
    ToolRegistry,
)
from pulse_agent_adapter.domain.ssrf import AllowList
from pulse_agent_adapter.handlers import register_handlers
from pulse_agent_adapter.llm import build_llm
from pulse_agent_adapter.llm_endpoint import register_llm_endpoint
from pulse_agent_adapter.plugins import load_plugin_tools
from pulse_agent_adapter.tool_metrics import MeteredTool, ToolMetrics
from pulse_broker import (
    NatsBlobStore,
    build_broker,
    open_output_store,
    provision_all,
    serve,
    service_app,
)
from pulse_contracts import subjects
from pulse_telemetry import setup_telemetry

__all__ = ["build_registry", "create_app", "http_get_tool", "main"]


def http_get_tool(settings: Settings) -> HttpGetTool:
    return HttpGetTool(
        allow=AllowList(settings.http_get_allow),
        max_bytes=settings.http_get_max_bytes,
        timeout_s=settings.http_get_timeout_s,
        max_redirects=settings.http_get_max_redirects,
    )


def build_registry(
    settings: Settings,
    *,
    todo_store: TodoStore,
    llm: CompletionService,
    counter_store: CounterStore | None = None,
    extra_tools: Iterable[Tool] = (),
    metrics: ToolMetrics | None = None,
) -> ToolRegistry:
    """Every built-in tool, the `pulse.tools` plugins (unless `PULSE_TOOL_PLUGINS` is off)
    and any the caller adds; `counter.increment` when there is a counter store. With
    `metrics`, every tool's calls are counted and timed."""
    counters: list[Tool] = [] if counter_store is None else [CounterIncrementTool(counter_store)]
    plugins: list[Tool] = load_plugin_tools() if settings.tool_plugins else []
    tools: list[Tool] = [
        CalculatorTool(),
        TodoAddTool(todo_store),
        TodoListTool(todo_store),
        LlmCompleteTool(llm),
        LlmJudgeTool(llm),
        LlmBatchTool(llm),
        ExtractCodeTool(),
        http_get_tool(settings),
        TextRepeatTool(),
        *counters,
        *plugins,
        *extra_tools,
    ]
    if metrics is not None:
        tools = [MeteredTool(tool, metrics) for tool in tools]
    return ToolRegistry(tools)


def create_app(
    settings: Settings | None = None, *, extra_tools: Sequence[Tool] = ()
) -> AsgiFastStream:
    """The agent-adapter as an ASGI app: the task consumer plus health and metrics."""
    settings = settings or Settings()
    telemetry = setup_telemetry(settings)
    broker = build_broker(settings, telemetry)
    todo_store = NatsKvTodoStore(max_items=settings.todo_max_items)
    counter_store = NatsKvCounterStore()
    llm = build_llm(settings, telemetry.registry, tracer_provider=telemetry.tracer_provider)
    registry = build_registry(
        settings,
        todo_store=todo_store,
        llm=llm.gateway,
        counter_store=counter_store,
        extra_tools=extra_tools,
        metrics=ToolMetrics.on(telemetry.registry),
    )
    register_llm_endpoint(broker, llm.gateway, max_workers=settings.llm_endpoint_concurrency)
    blobs = NatsBlobStore()
    register_handlers(
        broker,
        settings,
        registry=registry,
        tracer=telemetry.tracer,
        metrics=telemetry.registry,
        large=LargeValues(blobs, settings.large_output_bytes),
    )

    async def provision() -> None:
        buckets = await provision_all(
            broker,
            settings,
            (
                subjects.KV_TODOS,
                subjects.KV_COUNTERS,
                subjects.KV_TOOLS,
                subjects.KV_LLM_CACHE,
                subjects.KV_LLM_BUDGETS,
                subjects.KV_LLM_USAGE,
            ),
        )
        todo_store.bind(buckets[subjects.KV_TODOS])
        counter_store.bind(buckets[subjects.KV_COUNTERS])
        await open_output_store(broker, settings, blobs)
        llm.bind_kv(
            cache=buckets[subjects.KV_LLM_CACHE],
            budgets=buckets[subjects.KV_LLM_BUDGETS],
            usage=buckets[subjects.KV_LLM_USAGE],
        )
        await publish_catalogue(buckets[subjects.KV_TOOLS], registry.specs())

    return service_app(broker, telemetry, on_startup=[provision], on_shutdown=[llm.close])


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
