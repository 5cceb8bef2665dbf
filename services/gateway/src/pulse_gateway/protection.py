"""Protecting the platform from its callers: per-key rate limits and back-pressure.

Rate limits are per API key and shared by every replica (the limiter's buckets live in
JetStream KV). Back-pressure looks at the planner's queue: while more run requests wait
than `max_run_queue`, new runs are refused with 503 and `Retry-After` rather than piling up
behind a backlog nobody will clear in time. The queue is read at most once per
`check_s` whatever the request rate, and only by requests that would add to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from pulse_contracts import PulseError
from pulse_gateway.adapters.ports import RateLimiter, RunQueue
from pulse_gateway.domain import RateDecision, Tenant

__all__ = ["Admission", "OverloadedError", "RateLimitedError", "RequestGuard"]

log = logging.getLogger(__name__)


class RateLimitedError(PulseError):
    """The key used up its allowance; answered with 429 and `Retry-After`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class OverloadedError(PulseError):
    """Too many runs wait for planning; answered with 503 and `Retry-After`."""

    def __init__(self, waiting: int, retry_after_s: int) -> None:
        super().__init__(f"{waiting} runs are waiting to be planned")
        self.waiting = waiting
        self.retry_after_s = retry_after_s


class RequestGuard:
    """Spends one request of the caller's allowance or raises `RateLimitedError`.

    If the limiter itself cannot be reached, the request goes ahead (logged): losing the
    rate limit for a moment is better than refusing every caller.
    """

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    async def check(self, tenant: Tenant) -> RateDecision:
        try:
            decision = await self._limiter.take(tenant.key_id)
        except Exception:
            log.warning("rate limiter unavailable; letting the request through", exc_info=True)
            return RateDecision(True)
        if not decision.allowed:
            raise RateLimitedError(decision.retry_after_s)
        return decision


class Admission:
    """Whether a new run may be accepted now."""

    def __init__(
        self,
        queue: RunQueue,
        *,
        max_waiting: int,
        check_s: float,
        retry_after_s: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._queue = queue
        self._max_waiting = max_waiting
        self._check_s = check_s
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._reading: tuple[float, int | None] | None = None
        self._lock = asyncio.Lock()

    async def waiting(self) -> int | None:
        """The planner's queue, from a reading at most `check_s` old."""
        async with self._lock:  # one reading at a time, shared by every request meanwhile
            now = self._clock()
            if self._reading is None or now - self._reading[0] >= self._check_s:
                try:
                    depth = await self._queue.waiting()
                except Exception as exc:
                    # Logged when it starts failing, not at every reading.
                    if self._reading is None or self._reading[1] is not None:
                        log.warning("cannot read the run queue (%r); admitting runs", exc)
                    depth = None
                self._reading = (now, depth)
            return self._reading[1]

    async def admit(self) -> None:
        if self._max_waiting <= 0:
            return
        depth = await self.waiting()
        if depth is not None and depth > self._max_waiting:
            raise OverloadedError(depth, self._retry_after_s)
