"""The response cache: exact lookups in the in-process LRU, then the shared KV layer, then
(optionally) the semantic layer; each layer's hits and misses are counted.

A hit in a lower layer is copied into the layers above it, so the next lookup for it
stays in-process. Writes go to every layer; the shared one's behind the answer (see
`KvCacheLayer`). A caller that both looks up and stores a request computes its `key` once
and passes it to both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter

from pulse_agent_adapter.domain.llm import ChatRequest, Completion
from pulse_agent_adapter.llm.cache.entry import CachedCompletion
from pulse_agent_adapter.llm.cache.keys import cache_key, semantic_scope
from pulse_agent_adapter.llm.cache.kv import KvCacheLayer
from pulse_agent_adapter.llm.cache.memory import LruCache
from pulse_agent_adapter.llm.cache.semantic import SemanticCache

__all__ = ["CacheHit", "ResponseCache"]

log = logging.getLogger("pulse.agent_adapter")


@dataclass(frozen=True)
class CacheHit:
    entry: CachedCompletion
    layer: str
    similarity: float = 1.0


class ResponseCache:
    def __init__(
        self,
        *,
        memory: LruCache,
        shared: KvCacheLayer | None,
        semantic: SemanticCache | None,
        ttl_s: float,
        lookups: Counter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._memory = memory
        self._shared = shared
        self._semantic = semantic
        self._ttl_s = ttl_s
        self._lookups = lookups
        self._counted: dict[tuple[str, bool], Counter] = {}  # six series, looked up once
        self._clock = clock

    def _count(self, layer: str, hit: bool) -> None:
        series = self._counted.get((layer, hit))
        if series is None:
            series = self._lookups.labels(layer, "hit" if hit else "miss")
            self._counted[(layer, hit)] = series
        series.inc()

    @staticmethod
    def key(tenant: str, provider: str, request: ChatRequest) -> str:
        return cache_key(tenant, provider, request)

    async def get(
        self, tenant: str, provider: str, request: ChatRequest, *, key: str | None = None
    ) -> CacheHit | None:
        key = key or cache_key(tenant, provider, request)
        entry = self._memory.get(key)
        self._count("memory", entry is not None)
        if entry is not None:
            return CacheHit(entry, "memory")
        if self._shared is not None and self._shared.bound:
            entry = await self._shared.get(key)
            self._count("kv", entry is not None)
            if entry is not None:
                self._memory.put(key, entry)
                return CacheHit(entry, "kv")
        if self._semantic is not None:
            try:
                found = await self._semantic.get(
                    semantic_scope(tenant, provider, request), request.last_user_text
                )
            except Exception as exc:  # a broken embedder must not break calls
                log.warning("semantic cache lookup failed: %s", exc)
                found = None
            self._count("semantic", found is not None)
            if found is not None:
                return CacheHit(found[0], "semantic", found[1])
        return None

    async def put(
        self,
        tenant: str,
        provider: str,
        request: ChatRequest,
        completion: Completion,
        *,
        key: str | None = None,
    ) -> None:
        entry = CachedCompletion.of(completion, now=self._clock(), ttl_s=self._ttl_s)
        key = key or cache_key(tenant, provider, request)
        self._memory.put(key, entry)
        if self._shared is not None:
            self._shared.put_behind(key, entry)
        if self._semantic is not None:
            try:
                await self._semantic.put(
                    semantic_scope(tenant, provider, request), request.last_user_text, entry
                )
            except Exception as exc:
                log.warning("semantic cache store failed: %s", exc)
