from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse_agent_adapter.adapters import InMemoryTodoStore
from pulse_agent_adapter.domain import TodoItem, TodoListFullError


def item(step: str, text: str = "t") -> TodoItem:
    return TodoItem(
        id=f"run-1:{step}",
        text=text,
        run_id="run-1",
        step_id=step,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def test_adding_an_existing_id_returns_the_stored_item() -> None:
    store = InMemoryTodoStore()
    first = await store.add("acme", item("a", "first"))
    again = await store.add("acme", item("a", "second"))
    assert again == first
    assert [t.text for t in await store.list("acme")] == ["first"]


async def test_tenants_are_isolated() -> None:
    store = InMemoryTodoStore()
    await store.add("acme", item("a", "acme"))
    await store.add("globex", item("a", "globex"))
    assert [t.text for t in await store.list("acme")] == ["acme"]
    assert [t.text for t in await store.list("globex")] == ["globex"]
    assert await store.list("initech") == []


async def test_limit() -> None:
    store = InMemoryTodoStore(max_items=1)
    await store.add("acme", item("a"))
    with pytest.raises(TodoListFullError):
        await store.add("acme", item("b"))
    await store.add("globex", item("b"))  # the limit is per tenant
