"""Plans cached in a JetStream KV bucket, shared by every planner replica."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from pulse_planner.domain.caching import CachedPlan

__all__ = ["KvPlanCacheStore"]

log = logging.getLogger(__name__)


class KvPlanCacheStore:
    """One key per cached plan (`plan.<tenant>.<catalogue>.<digest>`). The bucket is opened
    on first use, so the store can be built before the broker connects."""

    def __init__(self, bucket: Callable[[], Awaitable[KeyValue]]) -> None:
        self._open = bucket
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._open()
        return self._kv

    async def get(self, key: str) -> CachedPlan | None:
        kv = await self._bucket()
        try:
            entry = await kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return _parse(key, entry.value)

    async def put(self, key: str, entry: CachedPlan) -> None:
        kv = await self._bucket()
        await kv.put(key, entry.model_dump_json().encode())

    async def delete(self, key: str) -> None:
        kv = await self._bucket()
        await kv.delete(key)

    async def scan(self, prefix: str) -> list[tuple[str, CachedPlan]]:
        kv = await self._bucket()
        # A server-side subject filter: only this tenant's and catalogue's plans travel.
        watcher = await kv.watch(f"{prefix}.>", ignore_deletes=True)
        found: list[tuple[str, CachedPlan]] = []
        try:
            async for entry in watcher:
                if entry is None:
                    break
                parsed = _parse(entry.key, entry.value)
                if parsed is not None:
                    found.append((entry.key, parsed))
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return found


def _parse(key: str, value: bytes | None) -> CachedPlan | None:
    if not value:
        return None
    try:
        return CachedPlan.model_validate_json(value)
    except ValidationError:
        log.warning("ignoring cached plan %r: it does not validate", key)
        return None
