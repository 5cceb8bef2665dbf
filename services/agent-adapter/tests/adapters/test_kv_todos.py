"""NatsKvTodoStore against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import nats
import pytest
from nats.aio.client import Client
from nats.js.kv import KeyValue

from pulse_agent_adapter.adapters import NatsKvTodoStore
from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import TodoItem, TodoList, TodoListFullError
from pulse_broker import ensure_kv
from pulse_contracts import subjects


def item(run: str, step: str, text: str = "t") -> TodoItem:
    return TodoItem(
        id=f"{run}:{step}",
        text=text,
        run_id=run,
        step_id=step,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def bucket(nc: Client) -> KeyValue:
    return await ensure_kv(nc.jetstream(), subjects.KV_TODOS, Settings())


@pytest.fixture
async def connections(nats_url: str) -> AsyncIterator[tuple[Client, Client]]:
    first, second = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


@pytest.mark.nats
async def test_concurrent_adds_from_two_replicas_all_land(
    connections: tuple[Client, Client],
) -> None:
    # Two connections, two stores: what two agent-adapter replicas look like to NATS.
    one = NatsKvTodoStore(await bucket(connections[0]))
    two = NatsKvTodoStore(await bucket(connections[1]))
    adds = [
        (one if i % 2 else two).add("acme", item("run-1", f"step-{i}", f"todo {i}"))
        for i in range(20)
    ]
    await asyncio.gather(*adds)
    stored = await one.list("acme")
    assert sorted(t.text for t in stored) == sorted(f"todo {i}" for i in range(20))
    assert len({t.id for t in stored}) == 20
    assert [t.text for t in await two.list("acme")] == [t.text for t in stored]


@pytest.mark.nats
async def test_re_adding_an_id_does_not_duplicate(connections: tuple[Client, Client]) -> None:
    one = NatsKvTodoStore(await bucket(connections[0]))
    two = NatsKvTodoStore(await bucket(connections[1]))
    # The same step re-executed on both replicas at once.
    results = await asyncio.gather(
        *[(one, two)[i % 2].add("acme", item("run-1", "add", f"attempt {i}")) for i in range(6)]
    )
    assert len({r.text for r in results}) == 1  # every caller sees the one stored todo
    stored = await one.list("acme")
    assert [t.id for t in stored] == ["run-1:add"]
    again = await two.add("acme", item("run-1", "add", "later"))
    assert again == stored[0]
    assert len(await one.list("acme")) == 1


@pytest.mark.nats
async def test_tenants_are_isolated(connections: tuple[Client, Client]) -> None:
    store = NatsKvTodoStore(await bucket(connections[0]))
    await store.add("acme", item("run-1", "add", "acme's"))
    await store.add("globex", item("run-1", "add", "globex's"))
    assert [t.text for t in await store.list("acme")] == ["acme's"]
    assert [t.text for t in await store.list("globex")] == ["globex's"]
    assert await store.list("initech") == []
    # One document per tenant, keyed by the tenant.
    kv = await bucket(connections[1])
    entry = await kv.get("acme")
    assert entry.value is not None
    assert TodoList.model_validate_json(entry.value).tenant == "acme"


@pytest.mark.nats
async def test_limit_per_tenant(connections: tuple[Client, Client]) -> None:
    store = NatsKvTodoStore(await bucket(connections[0]), max_items=2)
    await store.add("acme", item("run-1", "a"))
    await store.add("acme", item("run-1", "b"))
    with pytest.raises(TodoListFullError):
        await store.add("acme", item("run-1", "c"))
    assert (await store.add("acme", item("run-1", "a"))).id == "run-1:a"


async def test_an_unbound_store_says_so() -> None:
    with pytest.raises(RuntimeError, match="not bound"):
        await NatsKvTodoStore().list("acme")
