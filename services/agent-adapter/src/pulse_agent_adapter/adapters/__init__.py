"""The outside world of the agent-adapter: todo and counter storage, the web (`http.get`),
and the offline provider under its old name (the providers live in `llm.providers`)."""

from pulse_agent_adapter.adapters.http_get import HttpGetTool
from pulse_agent_adapter.adapters.kv_counters import (
    CounterStoreContendedError,
    NatsKvCounterStore,
)
from pulse_agent_adapter.adapters.kv_todos import NatsKvTodoStore, TodoStoreContendedError
from pulse_agent_adapter.adapters.memory_counters import InMemoryCounterStore
from pulse_agent_adapter.adapters.memory_todos import InMemoryTodoStore
from pulse_agent_adapter.adapters.offline_llm import OfflineProvider, estimate_tokens

__all__ = [
    "CounterStoreContendedError",
    "HttpGetTool",
    "InMemoryCounterStore",
    "InMemoryTodoStore",
    "NatsKvCounterStore",
    "NatsKvTodoStore",
    "OfflineProvider",
    "TodoStoreContendedError",
    "estimate_tokens",
]
