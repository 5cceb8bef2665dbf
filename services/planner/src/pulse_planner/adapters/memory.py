"""In-process stand-ins for the ports: for tests, and for running without a bus."""

from __future__ import annotations

from pulse_planner.domain.caching import CachedPlan
from pulse_planner.domain.catalogue import SchemaCatalogue

__all__ = ["MemoryPlanCacheStore", "StaticCatalogue"]


class StaticCatalogue:
    def __init__(self, catalogue: SchemaCatalogue) -> None:
        self._catalogue = catalogue

    async def catalogue(self) -> SchemaCatalogue:
        return self._catalogue


class MemoryPlanCacheStore:
    def __init__(self) -> None:
        self.entries: dict[str, CachedPlan] = {}

    async def get(self, key: str) -> CachedPlan | None:
        return self.entries.get(key)

    async def put(self, key: str, entry: CachedPlan) -> None:
        self.entries[key] = entry

    async def delete(self, key: str) -> None:
        self.entries.pop(key, None)

    async def scan(self, prefix: str) -> list[tuple[str, CachedPlan]]:
        return [(k, v) for k, v in self.entries.items() if k.startswith(prefix + ".")]
