"""A circuit breaker: stop calling a dependency that keeps failing, probe it again later.

- **closed** — calls go through; `failure_threshold` consecutive failures open it.
- **open** — calls are refused at once (`CircuitOpen`) for `cool_down_s`, so a dead
  dependency costs nothing and gets time to recover.
- **half-open** — after the cool-down, up to `half_open_probes` calls are let through as
  probes: a success closes the breaker, a failure opens it again for another cool-down.

Time comes from an injectable monotonic clock, so tests step through the cycle without
sleeping. The breaker holds no lock: it is meant for one asyncio event loop, where its
methods never interleave.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

__all__ = ["BreakerState", "CircuitBreaker", "CircuitOpen", "StateListener"]

T = TypeVar("T")

StateListener = Callable[["BreakerState", "BreakerState"], None]
"""Called with (old, new) on every state change — for metrics and logs."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(Exception):
    """The breaker refused the call; `retry_after_s` says when it will let a probe through."""

    def __init__(self, name: str, retry_after_s: float) -> None:
        super().__init__(f"circuit {name!r} is open; next probe in {retry_after_s:.1f}s")
        self.name = name
        self.retry_after_s = retry_after_s


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        cool_down_s: float = 30.0,
        half_open_probes: int = 1,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateListener | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cool_down_s < 0:
            raise ValueError("cool_down_s must not be negative")
        if half_open_probes < 1:
            raise ValueError("half_open_probes must be at least 1")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cool_down_s = cool_down_s
        self.half_open_probes = half_open_probes
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes_in_flight = 0

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker whose cool-down is over reads half-open."""
        if self._state is BreakerState.OPEN and self._cool_down_left() <= 0:
            self._move(BreakerState.HALF_OPEN)
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go ahead now. A `True` in half-open reserves a probe slot,
        so every allowed call must be followed by `record_success` or `record_failure`."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and self._probes_in_flight < self.half_open_probes:
            self._probes_in_flight += 1
            return True
        return False

    def retry_after_s(self) -> float:
        """Seconds until the breaker lets a probe through (0 when calls are allowed)."""
        return max(0.0, self._cool_down_left()) if self._state is BreakerState.OPEN else 0.0

    def record_success(self) -> None:
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._probes_in_flight = 0
            self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or (
            self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold
        ):
            self._trip()

    def reset(self) -> None:
        """Close the breaker and forget past failures (an operator's override)."""
        self._failures = 0
        self._probes_in_flight = 0
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    async def call(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        is_failure: Callable[[BaseException], bool] = lambda _exc: True,
    ) -> T:
        """Run `operation` through the breaker; raise `CircuitOpen` without running it when
        the breaker is open. An exception for which `is_failure` is False (say, a caller's
        own bad input) propagates without counting against the dependency."""
        if not self.allow():
            raise CircuitOpen(self.name, self.retry_after_s())
        try:
            result = await operation()
        except BaseException as exc:
            if isinstance(exc, Exception) and is_failure(exc):
                self.record_failure()
            else:
                self._release_probe()
            raise
        self.record_success()
        return result

    def _release_probe(self) -> None:
        if self._state is BreakerState.HALF_OPEN and self._probes_in_flight > 0:
            self._probes_in_flight -= 1

    def _cool_down_left(self) -> float:
        return self._opened_at + self.cool_down_s - self._clock()

    def _trip(self) -> None:
        self._opened_at = self._clock()
        self._probes_in_flight = 0
        self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if old is not new and self._on_change is not None:
            self._on_change(old, new)
