"""NatsKvCounterStore against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.js.kv import KeyValue

from pulse_agent_adapter.adapters import NatsKvCounterStore
from pulse_agent_adapter.adapters.kv_counters import counter_kv_key
from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import Counter, CounterFullError
from pulse_broker import ensure_kv
from pulse_contracts import subjects


async def bucket(nc: Client) -> KeyValue:
    return await ensure_kv(nc.jetstream(), subjects.KV_COUNTERS, Settings())


@pytest.fixture
async def connections(nats_url: str) -> AsyncIterator[tuple[Client, Client]]:
    first, second = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


@pytest.mark.nats
async def test_concurrent_steps_from_two_replicas_all_count(
    connections: tuple[Client, Client],
) -> None:
    # Two connections, two stores: what two agent-adapter replicas look like to NATS.
    one = NatsKvCounterStore(await bucket(connections[0]))
    two = NatsKvCounterStore(await bucket(connections[1]))
    done = await asyncio.gather(
        *[(one, two)[i % 2].increment("acme", "k", f"run-1:s{i}") for i in range(30)]
    )
    assert sorted(d.count for d in done) == list(range(1, 31))
    counter = await two.read("acme", "k")
    assert counter is not None
    assert (counter.count, counter.executions) == (30, 30)


@pytest.mark.nats
async def test_the_same_step_on_both_replicas_at_once_counts_once(
    connections: tuple[Client, Client],
) -> None:
    one = NatsKvCounterStore(await bucket(connections[0]))
    two = NatsKvCounterStore(await bucket(connections[1]))
    await one.increment("acme", "k", "run-1:s0")
    done = await asyncio.gather(
        *[(one, two)[i % 2].increment("acme", "k", "run-1:s1") for i in range(8)]
    )
    assert {d.count for d in done} == {2}
    assert sum(not d.repeated for d in done) == 1
    counter = await one.read("acme", "k")
    assert counter is not None
    assert (counter.count, counter.executions) == (2, 9)
    assert counter.effects == {"run-1:s0": 1, "run-1:s1": 2}


@pytest.mark.nats
async def test_one_document_per_tenant_and_key(connections: tuple[Client, Client]) -> None:
    store = NatsKvCounterStore(await bucket(connections[0]))
    await store.increment("acme", "k", "run-1:s1")
    await store.increment("globex", "k", "run-1:s1")
    kv = await bucket(connections[1])
    entry = await kv.get(counter_kv_key("acme", "k"))
    assert entry.value is not None
    assert Counter.model_validate_json(entry.value).effects == {"run-1:s1": 1}
    assert counter_kv_key("acme", "k") == "acme.k"
    assert await store.read("initech", "k") is None


@pytest.mark.nats
async def test_limit_per_counter(connections: tuple[Client, Client]) -> None:
    store = NatsKvCounterStore(await bucket(connections[0]), max_effects=1)
    await store.increment("acme", "k", "run-1:a")
    with pytest.raises(CounterFullError):
        await store.increment("acme", "k", "run-1:b")
    assert (await store.increment("acme", "k", "run-1:a")).repeated


async def test_an_unbound_store_says_so() -> None:
    with pytest.raises(RuntimeError, match="not bound"):
        await NatsKvCounterStore().read("acme", "k")
