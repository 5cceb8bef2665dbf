"""The planner's outside world: the LLM over NATS, the tool catalogue and the plan cache in
JetStream KV, the optional MiniLM embedder — each behind a Protocol in `ports.py`."""

from pulse_planner.adapters.kv_catalogue import KvCatalogue
from pulse_planner.adapters.kv_plan_cache import KvPlanCacheStore
from pulse_planner.adapters.memory import MemoryPlanCacheStore, StaticCatalogue
from pulse_planner.adapters.minilm import MiniLmEmbedder, minilm_available, minilm_embedder
from pulse_planner.adapters.nats_llm import NatsLlmClient
from pulse_planner.adapters.ports import CatalogueSource, Embedder, LlmClient, PlanCacheStore

__all__ = [
    "CatalogueSource",
    "Embedder",
    "KvCatalogue",
    "KvPlanCacheStore",
    "LlmClient",
    "MemoryPlanCacheStore",
    "MiniLmEmbedder",
    "NatsLlmClient",
    "PlanCacheStore",
    "StaticCatalogue",
    "minilm_available",
    "minilm_embedder",
]
