"""Todos in the JetStream KV bucket `pulse_todos`: one key per tenant, one `TodoList` each.

Every add is a compare-and-set on the tenant's document, retried when another replica
wrote first, so concurrent adds from any number of replicas all land and none is lost.
"""

from __future__ import annotations

import asyncio
import builtins
import random
from typing import Final

from nats.js.kv import KeyValue

from pulse_agent_adapter.domain.todos import TodoItem, TodoList
from pulse_broker import KvConflict, TypedKv

__all__ = ["NatsKvTodoStore", "TodoStoreContendedError"]

_BACKOFF_BASE_S: Final = 0.005
_BACKOFF_CAP_S: Final = 0.2


class TodoStoreContendedError(Exception):
    """The tenant's list kept changing under us; the task is tried again later."""

    def __init__(self, tenant: str, attempts: int) -> None:
        super().__init__(
            f"todo list of tenant {tenant!r} still contended after {attempts} attempts"
        )
        self.tenant = tenant


class NatsKvTodoStore:
    """Built unbound at composition time and bound to the bucket once NATS is reached."""

    def __init__(
        self, kv: KeyValue | None = None, *, max_items: int = 1000, max_attempts: int = 64
    ) -> None:
        self._docs: TypedKv[TodoList] | None = None
        self._max_items = max_items
        self._max_attempts = max_attempts
        if kv is not None:
            self.bind(kv)

    def bind(self, kv: KeyValue) -> None:
        self._docs = TypedKv(kv, TodoList)

    @property
    def docs(self) -> TypedKv[TodoList]:
        if self._docs is None:
            raise RuntimeError("the todo store is not bound to its KV bucket yet")
        return self._docs

    async def add(self, tenant: str, item: TodoItem) -> TodoItem:
        for attempt in range(self._max_attempts):
            current = await self.docs.get(tenant)
            if current is not None and (existing := current.value.find(item.id)) is not None:
                return existing
            try:
                if current is None:
                    fresh = TodoList(tenant=tenant).adding(item, max_items=self._max_items)
                    await self.docs.create(tenant, fresh)
                else:
                    grown = current.value.adding(item, max_items=self._max_items)
                    await self.docs.update(tenant, grown, current.revision)
                return item
            except KvConflict:
                # Full jitter, so replicas that collided do not collide again in lockstep.
                cap = min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)
                await asyncio.sleep(random.uniform(0, cap))
        raise TodoStoreContendedError(tenant, self._max_attempts)

    async def list(self, tenant: str) -> builtins.list[TodoItem]:
        current = await self.docs.get(tenant)
        return list(current.value.items) if current is not None else []
