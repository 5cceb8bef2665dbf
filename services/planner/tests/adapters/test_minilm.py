"""The semantic plan cache with the real MiniLM model (skipped when it is not installed)."""

from __future__ import annotations

import pytest

from pulse_contracts import Plan, PlanStep
from pulse_planner.adapters import MemoryPlanCacheStore, minilm_available, minilm_embedder
from pulse_planner.domain import cosine_similarity
from pulse_planner.plan_cache import CacheLayer, PlanCache

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not minilm_available(), reason="the `semantic` extra is not installed"),
]

PLAN = Plan(steps=[PlanStep(id="s1", tool="llm.complete", input={"prompt": "news"})])


async def test_paraphrases_hit_and_other_intents_miss() -> None:
    embedder = minilm_embedder()
    assert embedder is not None
    cache = PlanCache(MemoryPlanCacheStore(), ttl_s=60, embedder=embedder)
    await cache.store("acme", "v1", "summarize the latest news about NATS", PLAN, "llm")

    hit = await cache.lookup("acme", "v1", "Please summarize the latest NATS news")
    assert hit is not None
    assert hit.layer is CacheLayer.SEMANTIC
    assert hit.similarity >= 0.9
    assert await cache.lookup("acme", "v1", "write a poem about the sea") is None
    assert await cache.lookup("acme", "v1", "delete all todos") is None

    a = await embedder.embed("list all todos")
    b = await embedder.embed("delete all todos")
    assert len(a) == 384
    assert cosine_similarity(a, a) == pytest.approx(1.0, abs=1e-5)
    assert cosine_similarity(a, b) < 0.9  # close wording, other intent: below the default
