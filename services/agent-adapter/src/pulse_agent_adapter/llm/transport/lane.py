"""Everything one provider's calls share: its concurrency limiter, its adaptive throttle,
and a circuit breaker per model."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from pulse_agent_adapter.domain.llm import Deadline
from pulse_agent_adapter.llm.transport.errors import Saturated
from pulse_agent_adapter.llm.transport.limiter import ConcurrencyLimiter
from pulse_agent_adapter.llm.transport.throttle import AdaptiveThrottle
from pulse_resilience import BreakerState, CircuitBreaker

__all__ = ["BreakerSettings", "ProviderLane"]

log = logging.getLogger("pulse.agent_adapter")

BreakerListener = Callable[[str, str, BreakerState], None]


@dataclass(frozen=True)
class BreakerSettings:
    failure_threshold: int = 5
    cool_down_s: float = 30.0


class ProviderLane:
    def __init__(
        self,
        provider: str,
        *,
        max_concurrency: int,
        max_queue: int,
        max_wait_s: float,
        breaker: BreakerSettings,
        on_breaker_change: BreakerListener | None = None,
        throttle: AdaptiveThrottle | None = None,
    ) -> None:
        self.provider = provider
        self.limiter = ConcurrencyLimiter(provider, max_concurrency, max_queue)
        self.throttle = throttle or AdaptiveThrottle()
        self.max_wait_s = max_wait_s
        self._breaker_settings = breaker
        self._breakers: dict[str, CircuitBreaker] = {}
        self._on_breaker_change = on_breaker_change

    def breaker(self, model: str) -> CircuitBreaker:
        breaker = self._breakers.get(model)
        if breaker is None:

            def changed(old: BreakerState, new: BreakerState) -> None:
                log.warning("circuit %s/%s: %s -> %s", self.provider, model, old, new)
                if self._on_breaker_change is not None:
                    self._on_breaker_change(self.provider, model, new)

            breaker = CircuitBreaker(
                f"{self.provider}/{model}",
                failure_threshold=self._breaker_settings.failure_threshold,
                cool_down_s=self._breaker_settings.cool_down_s,
                on_change=changed,
            )
            self._breakers[model] = breaker
            if self._on_breaker_change is not None:
                # Report the new breaker as closed at once, so its gauge exists before the
                # first change and an "open" alert has a series to watch.
                self._on_breaker_change(self.provider, model, breaker.state)
        return breaker

    def observe(self, headers: dict[str, str]) -> None:
        self.throttle.observe(headers)
        self.limiter.set_limit(self.throttle.allowed_concurrency())

    @contextlib.asynccontextmanager
    async def slot(self, deadline: Deadline) -> AsyncIterator[None]:
        """Hold one of the provider's slots for the body; wait no longer than the deadline
        (or `max_wait_s`), else raise `Saturated`."""
        pause = self.throttle.pause_s()
        if pause > 0:
            if pause >= deadline.remaining():
                raise Saturated(
                    self.provider, "the provider's rate limit is used up", retry_after_s=pause
                )
            await asyncio.sleep(pause)
        taken_at = await self.limiter.acquire(min(self.max_wait_s, deadline.remaining()))
        try:
            yield
        finally:
            self.limiter.release(taken_at)
