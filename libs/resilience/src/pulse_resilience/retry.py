"""Retry with exponential back-off and jitter.

The pause after the n-th failed attempt is `min(max_delay_s, initial_delay_s *
multiplier**(n-1))`, spread by `±jitter` (a fraction of it) so that many callers retrying
the same dependency do not align. A caller can override a pause with a hint taken from the
error — a server's `Retry-After`, say — which is still capped by `max_delay_s`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Backoff", "retry"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    max_attempts: int = 3
    """Attempts in all, the first included."""
    initial_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 30.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("delays must not be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def base_delay_s(self, failed_attempts: int) -> float:
        """The pause after `failed_attempts` (>= 1) failures, before jitter."""
        exponent = min(max(failed_attempts, 1) - 1, 64)  # a huge power overflows a float
        return min(self.max_delay_s, self.initial_delay_s * self.multiplier**exponent)

    def delay_s(self, failed_attempts: int, rng: random.Random | None = None) -> float:
        """The pause after `failed_attempts` failures, with jitter; never negative."""
        base = self.base_delay_s(failed_attempts)
        spread = base * self.jitter
        offset = (rng or random).uniform(-spread, spread) if spread else 0.0
        return max(0.0, base + offset)


async def retry(
    operation: Callable[[], Awaitable[T]],
    backoff: Backoff,
    *,
    retryable: Callable[[Exception], bool],
    delay_hint_s: Callable[[Exception], float | None] = lambda _exc: None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run `operation` up to `backoff.max_attempts` times.

    An exception for which `retryable` is False, or the last attempt's exception, is raised
    as is. `delay_hint_s` may name the pause before the next attempt (capped by
    `max_delay_s`); `sleep` is injectable so tests check the schedule without waiting.
    """
    failed = 0
    while True:
        try:
            return await operation()
        except Exception as exc:
            failed += 1
            if failed >= backoff.max_attempts or not retryable(exc):
                raise
            hint = delay_hint_s(exc)
            pause = (
                min(backoff.max_delay_s, max(0.0, hint))
                if hint is not None
                else backoff.delay_s(failed, rng)
            )
            await sleep(pause)
