"""A concurrency limit with a bounded, deadline-aware wait queue.

At most `limit` calls hold a slot; up to `max_queue` more wait in arrival order, each no
longer than its own timeout. A call that finds the queue full, or whose wait runs out,
gets `Saturated` with an estimate of when a slot frees up — never an unbounded queue. A
released slot passes straight to the oldest waiter. The limit can change at run time
(adaptive throttling lowers it while the provider's rate-limit headers run low).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Final

from pulse_agent_adapter.llm.transport.errors import Saturated

__all__ = ["ConcurrencyLimiter"]

_EWMA_WEIGHT: Final = 0.2


class ConcurrencyLimiter:
    def __init__(self, name: str, limit: int, max_queue: int) -> None:
        if limit < 1 or max_queue < 0:
            raise ValueError("limit must be >= 1 and max_queue >= 0")
        self.name = name
        self._configured = limit
        self._limit = limit
        self._max_queue = max_queue
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._hold_s = 1.0  # running estimate of how long a call holds its slot

    @property
    def active(self) -> int:
        return self._active

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int | None) -> None:
        """A new limit (None: back to the configured one); never above the configured."""
        self._limit = max(1, min(self._configured, limit or self._configured))
        self._wake()

    def retry_after_s(self) -> float:
        """When a newcomer could expect a slot, from the queue length and hold times."""
        rounds = (self.waiting + 1) / self._limit
        return round(max(0.1, rounds * self._hold_s), 3)

    async def acquire(self, timeout_s: float) -> float:
        """Take a slot, waiting at most `timeout_s`; returns the moment it was taken."""
        if self._active < self._limit and not self.waiting:
            self._active += 1
            return time.monotonic()
        if self.waiting >= self._max_queue or timeout_s <= 0:
            raise Saturated(
                self.name,
                f"{self._active} calls in flight (limit {self._limit}), {self.waiting} waiting",
                retry_after_s=self.retry_after_s(),
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release_slot()  # granted just as we gave up: pass it on
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise Saturated(
                    self.name,
                    f"no slot within {timeout_s:.2f}s ({self._active} in flight, "
                    f"limit {self._limit})",
                    retry_after_s=self.retry_after_s(),
                ) from None
            raise
        return time.monotonic()

    def release(self, taken_at: float) -> None:
        held = max(0.0, time.monotonic() - taken_at)
        self._hold_s = (1 - _EWMA_WEIGHT) * self._hold_s + _EWMA_WEIGHT * held
        self.release_slot()

    def release_slot(self) -> None:
        if self._active > self._limit:
            self._active -= 1
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves to the waiter; _active unchanged
                return
        self._active -= 1

    def _wake(self) -> None:
        while self._active < self._limit and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._active += 1
                waiter.set_result(None)
