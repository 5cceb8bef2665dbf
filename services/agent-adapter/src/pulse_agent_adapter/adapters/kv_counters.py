"""Counters in the JetStream KV bucket `pulse_counters`: one `Counter` document per tenant
and key, under the KV key `<tenant>.<key>`.

Every execution is a compare-and-set on that document, retried when another replica wrote
first, so an effect is recorded exactly once however many replicas run the same step at
once, and every execution is counted.
"""

from __future__ import annotations

import asyncio
import random
from typing import Final

from nats.js.kv import KeyValue

from pulse_agent_adapter.domain.counter import MAX_COUNTER_EFFECTS, Counter, Increment
from pulse_broker import KvConflict, TypedKv

__all__ = ["CounterStoreContendedError", "NatsKvCounterStore", "counter_kv_key"]

_BACKOFF_BASE_S: Final = 0.005
_BACKOFF_CAP_S: Final = 0.2


def counter_kv_key(tenant: str, key: str) -> str:
    """Tenants and counter keys never contain dots, so the pair is unambiguous."""
    return f"{tenant}.{key}"


class CounterStoreContendedError(Exception):
    """The counter kept changing under us; the task is tried again later."""

    def __init__(self, tenant: str, key: str, attempts: int) -> None:
        super().__init__(
            f"counter {key!r} of tenant {tenant!r} still contended after {attempts} attempts"
        )
        self.tenant = tenant
        self.key = key


class NatsKvCounterStore:
    """Built unbound at composition time and bound to the bucket once NATS is reached."""

    def __init__(
        self,
        kv: KeyValue | None = None,
        *,
        max_effects: int = MAX_COUNTER_EFFECTS,
        max_attempts: int = 64,
    ) -> None:
        self._docs: TypedKv[Counter] | None = None
        self._max_effects = max_effects
        self._max_attempts = max_attempts
        if kv is not None:
            self.bind(kv)

    def bind(self, kv: KeyValue) -> None:
        self._docs = TypedKv(kv, Counter)

    @property
    def docs(self) -> TypedKv[Counter]:
        if self._docs is None:
            raise RuntimeError("the counter store is not bound to its KV bucket yet")
        return self._docs

    async def increment(self, tenant: str, key: str, effect: str) -> Increment:
        name = counter_kv_key(tenant, key)
        for attempt in range(self._max_attempts):
            current = await self.docs.get(name)
            base = current.value if current is not None else Counter(tenant=tenant, key=key)
            after, done = base.executing(effect, max_effects=self._max_effects)
            try:
                if current is None:
                    await self.docs.create(name, after)
                else:
                    await self.docs.update(name, after, current.revision)
                return done
            except KvConflict:
                # Full jitter, so replicas that collided do not collide again in lockstep.
                cap = min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)
                await asyncio.sleep(random.uniform(0, cap))
        raise CounterStoreContendedError(tenant, key, self._max_attempts)

    async def read(self, tenant: str, key: str) -> Counter | None:
        current = await self.docs.get(counter_kv_key(tenant, key))
        return current.value if current is not None else None
