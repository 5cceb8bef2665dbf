"""The shared layer: completions in the JetStream KV bucket `pulse_llm_cache`, which every
replica reads, so one replica's answer serves the others.

Entries carry their expiry (`PULSE_LLM_CACHE_TTL_S`; a read past it is a miss), and the
bucket drops every entry after `pulse_broker.provision.KV_MAX_AGE_S` (24 h) whoever
created it, so it cannot grow without bound. The cache is best effort: a KV error is
logged and counted as a miss, never a failed call.

Writes go behind the answer (`put_behind`): the call that produced an entry does not wait
for the bucket's acknowledgement, so its result is not held back by a round trip that
only later calls can profit from. The entry is in the in-process layer at once; another
replica sees it once the write lands (`settle` awaits the writes still under way, as
closing does).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from nats.js.kv import KeyValue

from pulse_agent_adapter.llm.cache.entry import CachedCompletion
from pulse_broker import TypedKv

__all__ = ["KvCacheLayer"]

log = logging.getLogger("pulse.agent_adapter")


class KvCacheLayer:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._docs: TypedKv[CachedCompletion] | None = None
        self._clock = clock
        self._writes: set[asyncio.Task[None]] = set()

    def bind(self, kv: KeyValue) -> None:
        self._docs = TypedKv(kv, CachedCompletion)

    @property
    def bound(self) -> bool:
        return self._docs is not None

    async def get(self, key: str) -> CachedCompletion | None:
        if self._docs is None:
            return None
        try:
            found = await self._docs.get(key)
        except Exception as exc:
            log.warning("LLM cache read failed: %s", exc)
            return None
        if found is None or found.value.expires_at <= self._clock():
            return None
        return found.value

    async def put(self, key: str, entry: CachedCompletion) -> None:
        if self._docs is None:
            return
        try:
            await self._docs.put(key, entry)
        except Exception as exc:
            log.warning("LLM cache write failed: %s", exc)

    def put_behind(self, key: str, entry: CachedCompletion) -> None:
        """`put` in a task of its own; the caller goes on at once."""
        if self._docs is None:
            return
        write = asyncio.create_task(self.put(key, entry), name="llm-cache-write")
        # Held until done: the event loop keeps only weak references to tasks.
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def settle(self) -> None:
        """Wait for the writes still under way (`put` logs its own failures)."""
        while self._writes:
            await asyncio.gather(*self._writes)
