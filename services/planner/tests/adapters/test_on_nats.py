"""The NATS adapters against a real nats-server: LLM requests, catalogue, plan cache."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from pulse_broker import server_caught_up
from pulse_contracts import (
    ChatMessage,
    LlmRequested,
    LlmResponded,
    Plan,
    PlanStep,
    ToolSpec,
    subjects,
)
from pulse_planner.adapters import KvCatalogue, KvPlanCacheStore, NatsLlmClient
from pulse_planner.domain import CachedPlan, LlmUnavailable, builtin_catalogue

pytestmark = pytest.mark.nats

REQUEST = LlmRequested(message_id="q1", messages=[ChatMessage(role="user", content="{}")])


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


@pytest.fixture
async def broker(nats_url: str) -> AsyncIterator[NatsBroker]:
    broker = NatsBroker(nats_url)
    await broker.connect()
    yield broker
    await broker.stop()


async def test_llm_client_round_trip_and_failures(nc: Client, broker: NatsBroker) -> None:
    client = NatsLlmClient(broker)
    with pytest.raises(LlmUnavailable, match="no agent-adapter answers"):
        await client.complete(REQUEST, timeout_s=5)

    async def answer(msg: Msg) -> None:
        request = LlmRequested.model_validate_json(msg.data)
        if request.message_id == "silent":
            return
        if request.message_id == "garbage":
            await msg.respond(b"not a reply")
            return
        reply = LlmResponded(message_id="r1", request_id=request.message_id, text="hello")
        await msg.respond(reply.model_dump_json().encode())

    await nc.subscribe(subjects.LLM_REQUESTS, queue=subjects.LLM_QUEUE_GROUP, cb=answer)
    await server_caught_up(nc)
    reply = await client.complete(REQUEST, timeout_s=10)
    assert (reply.request_id, reply.text) == ("q1", "hello")
    with pytest.raises(LlmUnavailable, match="not an LlmResponded"):
        await client.complete(REQUEST.model_copy(update={"message_id": "garbage"}), timeout_s=10)
    with pytest.raises(LlmUnavailable, match=r"did not answer within 0\.3s"):
        await client.complete(REQUEST.model_copy(update={"message_id": "silent"}), timeout_s=0.3)


async def tools_bucket(js: JetStreamContext) -> KeyValue:
    return await js.create_key_value(KeyValueConfig(bucket=subjects.KV_TOOLS, history=1))


async def test_catalogue_from_kv_with_builtin_fallback_and_refresh(nc: Client) -> None:
    js = nc.jetstream()
    now = [0.0]

    async def jetstream() -> JetStreamContext:
        return js

    source = KvCatalogue(jetstream, refresh_s=10, clock=lambda: now[0])
    # No bucket yet: the built-in catalogue.
    assert (await source.catalogue()).version == builtin_catalogue().version

    kv = await tools_bucket(js)
    repeat = ToolSpec(name="text.repeat", input_schema={"type": "object"})
    await kv.put("text.repeat", repeat.model_dump_json().encode())
    await kv.put("broken", b"{not a tool spec")
    # Within the refresh interval the catalogue read before stays.
    assert (await source.catalogue()).version == builtin_catalogue().version
    now[0] += 10
    catalogue = await source.catalogue()
    assert catalogue.names() == ["text.repeat"]  # the broken entry is skipped

    await kv.delete("text.repeat")
    await kv.delete("broken")
    now[0] += 10
    assert (await source.catalogue()).names() == builtin_catalogue().names()


async def test_catalogue_keeps_the_last_one_when_nats_fails(nc: Client) -> None:
    js = nc.jetstream()
    kv = await tools_bucket(js)
    await kv.put("todo.list", ToolSpec(name="todo.list").model_dump_json().encode())
    calls = [0]

    async def flaky() -> JetStreamContext:
        calls[0] += 1
        if calls[0] > 1:
            raise TimeoutError("nats is slow")
        return js

    source = KvCatalogue(flaky, refresh_s=0)
    assert (await source.catalogue()).names() == ["todo.list"]
    assert (await source.catalogue()).names() == ["todo.list"]
    assert calls[0] == 2


def entry(goal: str) -> CachedPlan:
    plan = Plan(steps=[PlanStep(id="s1", tool="todo.list")])
    return CachedPlan(goal=goal, plan=plan, planner="llm", stored_at=1.0, embedding=[0.1, 0.2])


async def test_plan_cache_store_in_kv(nc: Client) -> None:
    js = nc.jetstream()

    async def bucket() -> KeyValue:
        return await js.create_key_value(KeyValueConfig(bucket=subjects.KV_PLAN_CACHE))

    store = KvPlanCacheStore(bucket)
    assert await store.get("plan.acme.v1.aaa") is None
    assert await store.scan("plan.acme.v1") == []
    await store.put("plan.acme.v1.aaa", entry("a"))
    await store.put("plan.acme.v1.bbb", entry("b"))
    await store.put("plan.acme.v2.ccc", entry("c"))
    await store.put("plan.acmeco.v1.ddd", entry("d"))
    got = await store.get("plan.acme.v1.aaa")
    assert got is not None
    assert got.goal == "a"
    assert got.embedding == [0.1, 0.2]
    assert sorted(k for k, _ in await store.scan("plan.acme.v1")) == [
        "plan.acme.v1.aaa",
        "plan.acme.v1.bbb",
    ]
    await store.delete("plan.acme.v1.aaa")
    assert await store.get("plan.acme.v1.aaa") is None
    assert [k for k, _ in await store.scan("plan.acme.v1")] == ["plan.acme.v1.bbb"]
    kv = await js.key_value(subjects.KV_PLAN_CACHE)
    await kv.put("plan.acme.v1.bad", b"{}")
    assert await store.get("plan.acme.v1.bad") is None
    assert len(await store.scan("plan.acme.v1")) == 1  # the bad entry is skipped
