"""What the planner needs from the outside world, as small Protocols.

The LLM planner, the plan cache and the pipeline only see these; NATS-backed versions live
beside this file, in-memory ones in `memory.py`.
"""

from __future__ import annotations

from typing import Protocol

from pulse_contracts import LlmRequested, LlmResponded
from pulse_planner.domain.caching import CachedPlan
from pulse_planner.domain.catalogue import SchemaCatalogue

__all__ = ["CatalogueSource", "Embedder", "LlmClient", "PlanCacheStore"]


class LlmClient(Protocol):
    async def complete(self, request: LlmRequested, *, timeout_s: float) -> LlmResponded:
        """The reply to `request` (its `error` may be set); raises `LlmUnavailable` when
        no reply arrives within `timeout_s` or nothing is there to answer."""
        ...


class CatalogueSource(Protocol):
    async def catalogue(self) -> SchemaCatalogue:
        """The current tool catalogue; never raises (falls back to what it had, or to the
        built-in catalogue)."""
        ...


class PlanCacheStore(Protocol):
    async def get(self, key: str) -> CachedPlan | None: ...

    async def put(self, key: str, entry: CachedPlan) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def scan(self, prefix: str) -> list[tuple[str, CachedPlan]]:
        """Every entry whose key starts with `prefix` + "." (one tenant and catalogue)."""
        ...


class Embedder(Protocol):
    @property
    def model_name(self) -> str: ...

    async def embed(self, text: str) -> list[float]: ...
