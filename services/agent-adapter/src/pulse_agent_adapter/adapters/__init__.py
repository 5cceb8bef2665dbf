"""The outside world of the agent-adapter: todo storage and LLM providers."""

from pulse_agent_adapter.adapters.kv_todos import NatsKvTodoStore, TodoStoreContendedError
from pulse_agent_adapter.adapters.memory_todos import InMemoryTodoStore
from pulse_agent_adapter.adapters.offline_llm import OfflineProvider, estimate_tokens

__all__ = [
    "InMemoryTodoStore",
    "NatsKvTodoStore",
    "OfflineProvider",
    "TodoStoreContendedError",
    "estimate_tokens",
]
