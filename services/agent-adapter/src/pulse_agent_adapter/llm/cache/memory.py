"""The in-process layer: a least-recently-used map with a time to live per entry."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from pulse_agent_adapter.llm.cache.entry import CachedCompletion

__all__ = ["LruCache"]


class LruCache:
    def __init__(self, max_entries: int, *, clock: Callable[[], float] = time.time) -> None:
        self._entries: OrderedDict[str, CachedCompletion] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CachedCompletion | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: CachedCompletion) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
