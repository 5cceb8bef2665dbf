"""Counters in a dict: the `CounterStore` of unit tests and single-process experiments."""

from __future__ import annotations

from pulse_agent_adapter.domain.counter import MAX_COUNTER_EFFECTS, Counter, Increment

__all__ = ["InMemoryCounterStore"]


class InMemoryCounterStore:
    def __init__(self, *, max_effects: int = MAX_COUNTER_EFFECTS) -> None:
        self._counters: dict[tuple[str, str], Counter] = {}
        self._max_effects = max_effects

    async def increment(self, tenant: str, key: str, effect: str) -> Increment:
        # No await between reading and writing: the event loop makes this atomic.
        current = self._counters.get((tenant, key)) or Counter(tenant=tenant, key=key)
        after, done = current.executing(effect, max_effects=self._max_effects)
        self._counters[(tenant, key)] = after
        return done

    async def read(self, tenant: str, key: str) -> Counter | None:
        return self._counters.get((tenant, key))
