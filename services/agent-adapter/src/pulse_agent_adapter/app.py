"""Composition root: settings -> telemetry -> broker -> adapters -> tools -> handlers -> app."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from faststream.asgi import AsgiFastStream

from pulse_agent_adapter.adapters import NatsKvCounterStore, NatsKvTodoStore, OfflineProvider
from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import (
    CalculatorTool,
    CounterIncrementTool,
    CounterStore,
    LlmCompleteTool,
    LlmProvider,
    TodoAddTool,
    TodoListTool,
    TodoStore,
    Tool,
    ToolRegistry,
)
from pulse_agent_adapter.handlers import register_handlers
from pulse_broker import build_broker, provision_all, serve, service_app
from pulse_contracts import subjects
from pulse_telemetry import setup_telemetry

__all__ = ["build_registry", "create_app", "llm_provider", "main"]


def llm_provider(settings: Settings) -> LlmProvider:
    """The provider `settings.llm_provider` names (only the offline one so far)."""
    match settings.llm_provider:
        case "offline":
            return OfflineProvider(latency_s=settings.offline_latency_ms / 1000)


def build_registry(
    settings: Settings,
    *,
    todo_store: TodoStore,
    provider: LlmProvider,
    counter_store: CounterStore | None = None,
    extra_tools: Iterable[Tool] = (),
) -> ToolRegistry:
    """Every built-in tool, plus any the caller adds; `counter.increment` when there is a
    counter store."""
    counters: list[Tool] = [] if counter_store is None else [CounterIncrementTool(counter_store)]
    return ToolRegistry(
        [
            CalculatorTool(),
            TodoAddTool(todo_store),
            TodoListTool(todo_store),
            LlmCompleteTool(provider, settings.llm_model, settings.llm_max_tokens),
            *counters,
            *extra_tools,
        ]
    )


def create_app(
    settings: Settings | None = None, *, extra_tools: Sequence[Tool] = ()
) -> AsgiFastStream:
    """The agent-adapter as an ASGI app: the task consumer plus health and metrics."""
    settings = settings or Settings()
    telemetry = setup_telemetry(settings)
    broker = build_broker(settings, telemetry)
    todo_store = NatsKvTodoStore(max_items=settings.todo_max_items)
    counter_store = NatsKvCounterStore()
    registry = build_registry(
        settings,
        todo_store=todo_store,
        provider=llm_provider(settings),
        counter_store=counter_store,
        extra_tools=extra_tools,
    )
    register_handlers(
        broker, settings, registry=registry, tracer=telemetry.tracer, metrics=telemetry.registry
    )

    async def provision() -> None:
        buckets = await provision_all(broker, settings, (subjects.KV_TODOS, subjects.KV_COUNTERS))
        todo_store.bind(buckets[subjects.KV_TODOS])
        counter_store.bind(buckets[subjects.KV_COUNTERS])

    return service_app(broker, telemetry, on_startup=[provision])


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
