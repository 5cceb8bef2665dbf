"""The LLM response cache: exact (in-process LRU over a shared JetStream KV layer with TTL)
and, optionally, semantic."""

from pulse_agent_adapter.llm.cache.entry import CachedCompletion
from pulse_agent_adapter.llm.cache.keys import cache_key, normalise_text, semantic_scope
from pulse_agent_adapter.llm.cache.kv import KvCacheLayer
from pulse_agent_adapter.llm.cache.layered import CacheHit, ResponseCache
from pulse_agent_adapter.llm.cache.memory import LruCache
from pulse_agent_adapter.llm.cache.semantic import (
    Embedder,
    MiniLmEmbedder,
    SemanticCache,
    semantic_extra_installed,
)

__all__ = [
    "CacheHit",
    "CachedCompletion",
    "Embedder",
    "KvCacheLayer",
    "LruCache",
    "MiniLmEmbedder",
    "ResponseCache",
    "SemanticCache",
    "cache_key",
    "normalise_text",
    "semantic_extra_installed",
    "semantic_scope",
]
