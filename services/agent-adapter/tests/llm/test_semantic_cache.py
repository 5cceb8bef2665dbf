"""The optional semantic layer with the real all-MiniLM-L6-v2 model (extra `semantic`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.domain.llm import ChatRequest, Completion, LlmCall
from pulse_agent_adapter.llm import LlmAssembly
from pulse_agent_adapter.llm.cache import (
    CachedCompletion,
    MiniLmEmbedder,
    SemanticCache,
    semantic_extra_installed,
    semantic_scope,
)
from pulse_contracts import ChatMessage, Usage
from pulse_stack.llm_stub import StubLlmServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not semantic_extra_installed(),
        reason="the `semantic` extra is not installed: "
        "pip install torch==2.13.0 'pulse-agent-adapter[semantic]'",
    ),
]

GatewayFactory = Callable[..., LlmAssembly]


class WordEmbedder:
    """Bag of words: unit tests of the layer's logic without the model."""

    async def embed(self, text: str) -> list[float]:
        words = ["cat", "dog", "sum", "two", "plus"]
        return [float(text.lower().count(w)) for w in words]


def request(text: str, model: str = "m") -> ChatRequest:
    return ChatRequest(
        messages=(ChatMessage(role="user", content=text),), model=model, max_tokens=9
    )


def entry(text: str) -> CachedCompletion:
    done = Completion(text=text, usage=Usage(), model="m", provider="p")
    return CachedCompletion.of(done, now=0, ttl_s=1e12)


async def test_the_layer_matches_within_its_scope_only() -> None:
    cache = SemanticCache(WordEmbedder(), threshold=0.9)
    scope = semantic_scope("acme", "p", request("what is two plus two"))
    await cache.put(scope, "what is two plus two", entry("4"))
    hit = await cache.get(scope, "two plus two, what is it")
    assert hit is not None
    assert hit[0].text == "4"
    assert await cache.get(scope, "tell me about a cat") is None
    other_tenant = semantic_scope("globex", "p", request("what is two plus two"))
    other_model = semantic_scope("acme", "p", request("what is two plus two", model="m2"))
    assert other_tenant != scope
    assert other_model != scope
    assert await cache.get(other_tenant, "what is two plus two") is None


async def test_minilm_embeddings_put_paraphrases_close_and_strangers_far() -> None:
    embedder = MiniLmEmbedder()
    a = await embedder.embed("How do I reset my password?")
    b = await embedder.embed("What are the steps to reset my password?")
    c = await embedder.embed("Write a haiku about autumn leaves")
    dot = lambda x, y: sum(p * q for p, q in zip(x, y, strict=True))  # noqa: E731
    assert len(a) == 384
    assert dot(a, b) > 0.8 > 0.3 > dot(a, c)


async def test_the_gateway_answers_a_paraphrase_from_the_semantic_layer(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    registry = CollectorRegistry()
    gateway = make_gateway(
        {"default": {"provider": "stub", "model": "gpt-4o-mini"}},
        registry=registry,
        llm_semantic_cache=True,
        llm_semantic_threshold=0.8,
    ).gateway

    def ask(text: str, tenant: str = "acme") -> LlmCall:
        return LlmCall(messages=(ChatMessage(role="user", content=text),), tenant=tenant)

    first = await gateway.complete(ask("How do I reset my password?"))
    paraphrase = await gateway.complete(ask("What are the steps to reset my password?"))
    assert paraphrase.cached
    assert paraphrase.text == first.text
    assert not (await gateway.complete(ask("How do I reset my password?", "globex"))).cached
    assert not (await gateway.complete(ask("Write a haiku about autumn leaves"))).cached
    assert (
        registry.get_sample_value(
            "pulse_cache_requests_total", {"layer": "semantic", "result": "hit"}
        )
        == 1
    )
    assert len(stub.llm.requests) == 3
