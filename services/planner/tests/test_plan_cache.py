"""The plan cache: TTL, scopes, the semantic layer's guard on literals, best effort."""

from __future__ import annotations

from pulse_contracts import Plan, PlanStep
from pulse_planner.adapters import MemoryPlanCacheStore
from pulse_planner.domain import CachedPlan
from pulse_planner.plan_cache import CacheLayer, PlanCache

PLAN = Plan(steps=[PlanStep(id="s1", tool="todo.list")])


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class BagOfWords:
    """A toy embedder: similar goals share words (the real one is MiniLM)."""

    model_name = "bag-of-words"
    VOCABULARY = ("calculate", "compute", "sum", "todo", "list", "show", "poem", "sea")

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, text: str) -> list[float]:
        self.calls += 1
        words = text.replace("*", " ").split()
        synonyms = {"compute": "calculate", "show": "list"}
        words = [synonyms.get(w, w) for w in words]
        return [float(words.count(v)) for v in self.VOCABULARY]


class Broken:
    async def get(self, key: str) -> CachedPlan | None:
        raise ConnectionError("bucket gone")

    async def put(self, key: str, entry: CachedPlan) -> None:
        raise ConnectionError("bucket gone")

    async def delete(self, key: str) -> None:
        raise ConnectionError("bucket gone")

    async def scan(self, prefix: str) -> list[tuple[str, CachedPlan]]:
        raise ConnectionError("bucket gone")


async def test_exact_hit_within_the_ttl_and_miss_after() -> None:
    clock = Clock()
    store = MemoryPlanCacheStore()
    cache = PlanCache(store, ttl_s=60, clock=clock)
    assert await cache.lookup("acme", "v1", "list todos") is None
    await cache.store("acme", "v1", "list todos", PLAN, "llm")
    hit = await cache.lookup("acme", "v1", "List todos!")
    assert hit is not None
    assert (hit.plan, hit.planner, hit.layer) == (PLAN, "llm", CacheLayer.EXACT)
    assert await cache.lookup("acme", "v2", "list todos") is None  # another catalogue
    assert await cache.lookup("other", "v1", "list todos") is None  # another tenant
    clock.now += 61
    assert await cache.lookup("acme", "v1", "list todos") is None
    assert store.entries == {}  # the stale entry was dropped


async def test_semantic_hit_needs_similar_meaning_and_the_same_literals() -> None:
    embedder = BagOfWords()
    lookups: list[CacheLayer | None] = []
    cache = PlanCache(
        MemoryPlanCacheStore(),
        ttl_s=60,
        embedder=embedder,
        similarity_threshold=0.9,
        on_lookup=lookups.append,
    )
    await cache.store("acme", "v1", "calculate 5 * 3 then list todo", PLAN, "llm")
    hit = await cache.lookup("acme", "v1", "compute 3 * 5 then show todo")
    assert hit is not None
    assert hit.layer is CacheLayer.SEMANTIC
    assert 0.9 <= hit.similarity <= 1.0
    # Same words, other numbers: a different plan, never reused.
    assert await cache.lookup("acme", "v1", "calculate 5 * 4 then list todo") is None
    # Same numbers, other meaning.
    assert await cache.lookup("acme", "v1", "write a poem about the sea 5 3") is None
    # Scoped like the exact layer.
    assert await cache.lookup("globex", "v1", "compute 3 * 5 then show todo") is None
    # Each lookup is reported once, by the layer that answered (None: a miss).
    assert lookups == [CacheLayer.SEMANTIC, None, None, None]


async def test_the_embedding_of_a_missed_goal_is_reused_when_its_plan_is_stored() -> None:
    embedder = BagOfWords()
    cache = PlanCache(MemoryPlanCacheStore(), ttl_s=60, embedder=embedder)
    await cache.lookup("acme", "v1", "list todo")
    await cache.store("acme", "v1", "list todo", PLAN, "llm")
    assert embedder.calls == 1


async def test_entries_of_another_embedding_model_are_not_compared() -> None:
    store = MemoryPlanCacheStore()
    writer = PlanCache(store, ttl_s=60, embedder=BagOfWords())
    await writer.store("acme", "v1", "list todo", PLAN, "llm")
    other = BagOfWords()
    other.model_name = "another-model"
    reader = PlanCache(store, ttl_s=60, embedder=other)
    assert await reader.lookup("acme", "v1", "show todo") is None


async def test_a_broken_store_is_a_miss_and_a_no_op() -> None:
    cache = PlanCache(Broken(), ttl_s=60, embedder=BagOfWords())
    assert await cache.lookup("acme", "v1", "list todo") is None
    await cache.store("acme", "v1", "list todo", PLAN, "llm")  # does not raise


async def test_warming_loads_the_embedder_once_and_never_raises() -> None:
    embedder = BagOfWords()
    await PlanCache(MemoryPlanCacheStore(), ttl_s=60, embedder=embedder).warm()
    assert embedder.calls == 1
    await PlanCache(MemoryPlanCacheStore(), ttl_s=60).warm()  # no embedder: nothing to do

    class Failing(BagOfWords):
        async def embed(self, text: str) -> list[float]:
            raise OSError("model files missing")

    await PlanCache(MemoryPlanCacheStore(), ttl_s=60, embedder=Failing()).warm()
