"""Todos in a dict: the `TodoStore` of unit tests and single-process experiments."""

from __future__ import annotations

import builtins

from pulse_agent_adapter.domain.todos import TodoItem, TodoList

__all__ = ["InMemoryTodoStore"]


class InMemoryTodoStore:
    def __init__(self, *, max_items: int = 1000) -> None:
        self._lists: dict[str, TodoList] = {}
        self._max_items = max_items

    async def add(self, tenant: str, item: TodoItem) -> TodoItem:
        # No await between reading and writing: the event loop makes this atomic.
        current = self._lists.get(tenant) or TodoList(tenant=tenant)
        existing = current.find(item.id)
        if existing is not None:
            return existing
        self._lists[tenant] = current.adding(item, max_items=self._max_items)
        return item

    async def list(self, tenant: str) -> builtins.list[TodoItem]:
        current = self._lists.get(tenant)
        return list(current.items) if current is not None else []
