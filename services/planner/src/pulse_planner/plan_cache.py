"""The plan cache: exact first, then (optionally) semantic, over a `PlanCacheStore`.

Entries older than `ttl_s` are misses (and are deleted when met by an exact lookup), so
a plan is never served past its TTL whatever the bucket's own limits are. The cache is
best effort: a store that fails makes a lookup a miss and a store a no-op, never a failed
plan. `on_lookup` hears of every lookup once: the layer that answered, or None for a miss.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pulse_contracts import Plan
from pulse_planner.adapters.ports import Embedder, PlanCacheStore
from pulse_planner.domain.caching import (
    CachedPlan,
    cosine_similarity,
    exact_key,
    literal_signature,
    normalise_goal,
    scope_prefix,
)

__all__ = ["CacheHit", "CacheLayer", "PlanCache"]

log = logging.getLogger(__name__)

_EMBEDDINGS_KEPT: Final = 256


class CacheLayer(StrEnum):
    EXACT = "exact"
    SEMANTIC = "semantic"


@dataclass(frozen=True)
class CacheHit:
    plan: Plan
    planner: str
    layer: CacheLayer
    similarity: float = 1.0


class PlanCache:
    def __init__(
        self,
        store: PlanCacheStore,
        *,
        ttl_s: float,
        embedder: Embedder | None = None,
        similarity_threshold: float = 0.9,
        clock: Callable[[], float] = time.time,
        on_lookup: Callable[[CacheLayer | None], None] | None = None,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._embedder = embedder
        self._threshold = similarity_threshold
        self._clock = clock
        self._on_lookup = on_lookup
        # The embedding of a goal just looked up, reused when its plan is stored.
        self._embeddings: OrderedDict[str, list[float]] = OrderedDict()

    @property
    def semantic(self) -> bool:
        return self._embedder is not None

    async def warm(self) -> None:
        """Load the embedding model now rather than inside the first goal's lookup."""
        if self._embedder is None:
            return
        try:
            await self._embedder.embed("warm up")
        except Exception as exc:  # best effort, as every cache operation
            log.warning("embedding model did not load: %s", exc)

    async def lookup(self, tenant: str, catalogue_version: str, goal: str) -> CacheHit | None:
        hit = None
        try:
            hit = await self._exact(tenant, catalogue_version, goal)
            if hit is None and self._embedder is not None:
                hit = await self._semantic(self._embedder, tenant, catalogue_version, goal)
        except Exception as exc:  # best effort: a broken cache must not stop planning
            log.warning("plan cache lookup failed: %s", exc)
        if self._on_lookup is not None:
            self._on_lookup(hit.layer if hit is not None else None)
        return hit

    async def store(
        self, tenant: str, catalogue_version: str, goal: str, plan: Plan, planner: str
    ) -> None:
        try:
            embedding = None
            if self._embedder is not None:
                embedding = self._embeddings.pop(normalise_goal(goal), None)
                if embedding is None:
                    embedding = await self._embedder.embed(normalise_goal(goal))
            entry = CachedPlan(
                goal=normalise_goal(goal),
                plan=plan,
                planner=planner,
                stored_at=self._clock(),
                literals=literal_signature(goal),
                embedding=embedding,
                embedding_model=self._embedder.model_name if self._embedder else None,
            )
            await self._store.put(exact_key(tenant, catalogue_version, goal), entry)
        except Exception as exc:  # best effort, as above
            log.warning("plan cache store failed: %s", exc)

    async def _exact(self, tenant: str, catalogue_version: str, goal: str) -> CacheHit | None:
        key = exact_key(tenant, catalogue_version, goal)
        entry = await self._store.get(key)
        if entry is None:
            return None
        if not entry.fresh(self._clock(), self._ttl_s):
            await self._store.delete(key)
            return None
        if entry.goal != normalise_goal(goal):
            return None  # a digest collision: never serve another goal's plan
        return CacheHit(entry.plan, entry.planner, CacheLayer.EXACT)

    async def _semantic(
        self, embedder: Embedder, tenant: str, catalogue_version: str, goal: str
    ) -> CacheHit | None:
        normalised = normalise_goal(goal)
        vector = await embedder.embed(normalised)
        self._embeddings[normalised] = vector
        while len(self._embeddings) > _EMBEDDINGS_KEPT:
            self._embeddings.popitem(last=False)
        literals = literal_signature(goal)
        now = self._clock()
        best: tuple[float, CachedPlan] | None = None
        for _key, entry in await self._store.scan(scope_prefix(tenant, catalogue_version)):
            if (
                entry.embedding is None
                or entry.embedding_model != embedder.model_name
                or entry.literals != literals
                or not entry.fresh(now, self._ttl_s)
            ):
                continue
            similarity = cosine_similarity(vector, entry.embedding)
            if similarity >= self._threshold and (best is None or similarity > best[0]):
                best = (similarity, entry)
        if best is None:
            return None
        return CacheHit(best[1].plan, best[1].planner, CacheLayer.SEMANTIC, round(best[0], 4))
