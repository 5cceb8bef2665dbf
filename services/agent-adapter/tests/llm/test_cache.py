"""The response cache: exact keys, an in-process LRU over a KV layer shared by replicas,
per-layer hit/miss metrics, isolation of tenants and models, streamed answers cached."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
import pytest
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.domain.llm import ChatRequest, Completion, LlmCall
from pulse_agent_adapter.llm import LlmAssembly
from pulse_agent_adapter.llm.cache import (
    CachedCompletion,
    LruCache,
    cache_key,
    semantic_scope,
)
from pulse_broker import ensure_kv
from pulse_broker.provision import KV_MAX_AGE_S
from pulse_contracts import ChatMessage, Usage, subjects
from pulse_settings import ServiceSettings
from pulse_stack.llm_stub import StubLlmServer

GatewayFactory = Callable[..., LlmAssembly]
AGENTS = {
    "default": {"provider": "stub", "model": "gpt-4o-mini"},
    "claude": {"provider": "stub-anthropic", "model": "claude-3-5-haiku-latest"},
}


def call(text: str, **fields: object) -> LlmCall:
    return LlmCall(messages=(ChatMessage(role="user", content=text),), **fields)  # type: ignore[arg-type]


def request(*texts: str, model: str = "m", temperature: float = 0.0) -> ChatRequest:
    return ChatRequest(
        messages=tuple(ChatMessage(role="user", content=t) for t in texts),
        model=model,
        max_tokens=64,
        temperature=temperature,
    )


def lookups(registry: CollectorRegistry, layer: str, result: str) -> float:
    value = registry.get_sample_value(
        "pulse_cache_requests_total", {"layer": layer, "result": result}
    )
    return value or 0.0


def test_keys_normalise_text_but_keep_everything_that_changes_the_answer() -> None:
    base = cache_key("acme", "openai", request("Hello"))
    assert cache_key("acme", "openai", request("  Hello\r\n")) == base
    assert cache_key("globex", "openai", request("Hello")) != base
    assert cache_key("acme", "anthropic", request("Hello")) != base
    assert cache_key("acme", "openai", request("Hello", model="m2")) != base
    assert cache_key("acme", "openai", request("Hello", temperature=0.7)) != base
    assert cache_key("acme", "openai", request("hello")) != base
    # The semantic scope ignores only the last user message.
    assert semantic_scope("acme", "o", request("a", "b")) == semantic_scope(
        "acme", "o", request("a", "c")
    )
    assert semantic_scope("acme", "o", request("a", "b")) != semantic_scope(
        "acme", "o", request("x", "b")
    )


def test_lru_evicts_the_least_recently_used_and_expires_entries() -> None:
    now = [100.0]
    lru = LruCache(2, clock=lambda: now[0])
    done = Completion(text="t", usage=Usage(), model="m", provider="p")
    lru.put("a", CachedCompletion.of(done, now=now[0], ttl_s=10))
    lru.put("b", CachedCompletion.of(done, now=now[0], ttl_s=10))
    assert lru.get("a") is not None  # a is now the most recent
    lru.put("c", CachedCompletion.of(done, now=now[0], ttl_s=10))
    assert lru.get("b") is None
    assert lru.get("a") is not None
    now[0] += 11
    assert lru.get("a") is None
    assert len(lru) == 1


async def test_a_repeated_workload_is_served_from_cache(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    registry = CollectorRegistry()
    gateway = make_gateway(AGENTS, registry=registry).gateway
    prompts = [f"Summarise topic {i}" for i in range(10)]
    answers: list[Completion] = []
    for _round in range(10):
        for prompt in prompts:
            answers.append(await gateway.complete(call(prompt, tenant="acme")))
    hits = sum(1 for a in answers if a.cached)
    assert hits / len(answers) >= 0.8  # 90 of 100: each prompt misses once
    assert len(stub.llm.requests) == 10
    assert lookups(registry, "memory", "hit") == 90
    assert lookups(registry, "memory", "miss") == 10
    cached = next(a for a in answers if a.cached)
    assert cached.usage == Usage()  # a hit costs nothing
    assert cached.text == next(a for a in answers if a.text == cached.text and not a.cached).text


async def test_tenants_and_models_never_share_entries(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(AGENTS).gateway
    await gateway.complete(call("same prompt", tenant="acme"))
    assert not (await gateway.complete(call("same prompt", tenant="globex"))).cached
    assert not (await gateway.complete(call("same prompt", tenant="acme", agent="claude"))).cached
    assert (await gateway.complete(call("same prompt", tenant="acme"))).cached
    assert not (await gateway.complete(call("same prompt", tenant="acme", use_cache=False))).cached
    assert len(stub.llm.requests) == 4


async def test_streamed_answers_are_cached_and_replayed(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(AGENTS).gateway
    first = "".join([p async for p in gateway.stream(call("stream this", agent="claude"))])
    again = "".join([p async for p in gateway.stream(call("stream this", agent="claude"))])
    assert first == again == "Stub answer to: stream this"
    assert len(stub.llm.requests) == 1
    # ...and a streamed answer also serves a plain call of the same request.
    assert (await gateway.complete(call("stream this", agent="claude"))).cached


@pytest.mark.nats
async def test_replicas_share_answers_through_kv(
    stub: StubLlmServer, make_gateway: GatewayFactory, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        kv = await ensure_kv(nc.jetstream(), subjects.KV_LLM_CACHE, ServiceSettings())
        registries = [CollectorRegistry(), CollectorRegistry()]
        replicas = [make_gateway(AGENTS, registry=r) for r in registries]
        for replica in replicas:
            replica.cache_layer.bind(kv)
        first = await replicas[0].gateway.complete(call("shared", tenant="acme"))
        await replicas[0].cache_layer.settle()  # the shared write goes behind the answer
        second = await replicas[1].gateway.complete(call("shared", tenant="acme"))
        assert not first.cached
        assert second.cached
        assert second.text == first.text
        assert len(stub.llm.requests) == 1
        assert lookups(registries[1], "memory", "miss") == 1
        assert lookups(registries[1], "kv", "hit") == 1
        # Now in the second replica's memory too.
        assert (await replicas[1].gateway.complete(call("shared", tenant="acme"))).cached
        assert lookups(registries[1], "memory", "hit") == 1
        # Whoever creates the bucket, entries cannot outlive a day there.
        info = await nc.jetstream().stream_info(f"KV_{subjects.KV_LLM_CACHE}")
        assert info.config.max_age == KV_MAX_AGE_S[subjects.KV_LLM_CACHE] == 24 * 3600
    finally:
        await nc.close()


@pytest.mark.nats
async def test_expired_kv_entries_are_misses(
    stub: StubLlmServer, make_gateway: GatewayFactory, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        kv = await ensure_kv(nc.jetstream(), subjects.KV_LLM_CACHE, ServiceSettings())
        writer = make_gateway(AGENTS, llm_cache_ttl_s=0.5)
        reader = make_gateway(AGENTS, llm_cache_ttl_s=0.5)
        writer.cache_layer.bind(kv)
        reader.cache_layer.bind(kv)
        await writer.gateway.complete(call("short-lived"))
        await writer.cache_layer.settle()
        await asyncio.sleep(0.7)
        assert not (await reader.gateway.complete(call("short-lived"))).cached
        assert len(stub.llm.requests) == 2
    finally:
        await nc.close()
