"""Composition root: settings -> telemetry -> broker -> planner -> handlers -> app."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging

from faststream import AsyncAPI
from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from pulse_broker import build_broker, jetstream, provision_all, serve, service_app
from pulse_contracts import subjects
from pulse_planner.adapters import (
    KvCatalogue,
    KvPlanCacheStore,
    LlmClient,
    NatsLlmClient,
    minilm_embedder,
)
from pulse_planner.config import PlannerSettings
from pulse_planner.domain import Planner, RuleBasedPlanner
from pulse_planner.handlers import register_handlers
from pulse_planner.llm_planner import LlmPlanner, LlmPlannerConfig
from pulse_planner.metrics import PlannerMetrics
from pulse_planner.pipeline import GoalPlanner, PlanningPipeline, RulePlanning, as_goal_planner
from pulse_planner.plan_cache import PlanCache
from pulse_resilience import CircuitBreaker
from pulse_telemetry import Telemetry, setup_telemetry

__all__ = ["asyncapi", "build_planner", "create_app", "main"]

log = logging.getLogger(__name__)


def build_planner(
    settings: PlannerSettings,
    broker: NatsBroker,
    metrics: PlannerMetrics,
    *,
    llm: LlmClient | None = None,
) -> GoalPlanner:
    """The planner `settings.planner_mode` asks for, wired to the bus through `broker`."""
    rules = RuleBasedPlanner()
    if settings.planner_mode == "rule":
        return RulePlanning(rules)

    async def js() -> JetStreamContext:
        return await jetstream(broker)

    async def cache_bucket() -> KeyValue:
        return await (await js()).key_value(subjects.KV_PLAN_CACHE)

    cache = None
    if settings.planner_cache:
        cache = PlanCache(
            KvPlanCacheStore(cache_bucket),
            ttl_s=settings.planner_cache_ttl_s,
            embedder=minilm_embedder() if settings.planner_semantic_cache else None,
            similarity_threshold=settings.planner_semantic_threshold,
            on_lookup=lambda layer: metrics.plan_cache_lookup(layer is not None),
        )
    breaker = CircuitBreaker(
        "planner-llm",
        failure_threshold=settings.planner_breaker_failures,
        cool_down_s=settings.planner_breaker_cool_down_s,
    )
    metrics.watch(breaker)
    return PlanningPipeline(
        llm=LlmPlanner(
            llm or NatsLlmClient(broker),
            LlmPlannerConfig(
                simple_agent=settings.planner_agent_simple,
                complex_agent=settings.planner_agent_complex,
                judge_agent=settings.planner_agent_judge,
                complexity_threshold=settings.planner_complexity_threshold,
                request_timeout_s=settings.planner_llm_timeout_s,
                max_tokens=settings.planner_max_tokens,
                judge=settings.planner_judge,
            ),
        ),
        catalogue=KvCatalogue(js, refresh_s=settings.planner_catalogue_refresh_s),
        fallback=rules if settings.planner_mode == "auto" else None,
        breaker=breaker,
        cache=cache,
        budget_s=settings.planner_budget_s,
        metrics=metrics,
    )


def create_app(
    settings: PlannerSettings | None = None,
    *,
    planner: Planner | GoalPlanner | None = None,
    telemetry: Telemetry | None = None,
) -> AsgiFastStream:
    """The planner: its consumer plus /healthz, /readyz and /metrics on `http_port`.

    Streams (and the plan cache bucket, when the LLM path caches) are provisioned on
    start-up, before FastStream creates the durable consumer. `planner` replaces the one
    `settings.planner_mode` would build.
    """
    settings = settings or PlannerSettings()
    telemetry = telemetry or setup_telemetry(settings)
    broker = build_broker(settings, telemetry)
    metrics = PlannerMetrics(telemetry.registry)
    chosen = (
        as_goal_planner(planner)
        if planner is not None
        else build_planner(settings, broker, metrics)
    )
    register_handlers(broker, settings, chosen, metrics)
    buckets = (
        (subjects.KV_PLAN_CACHE,)
        if settings.planner_mode != "rule" and settings.planner_cache
        else ()
    )
    log.info("planner mode %s", settings.planner_mode)

    warming: list[asyncio.Task[None]] = []

    async def provision() -> None:
        await provision_all(broker, settings, buckets)
        if isinstance(chosen, PlanningPipeline):
            # In the background: loading the embedding model takes seconds.
            warming.append(asyncio.create_task(chosen.warm()))

    return service_app(broker, telemetry, on_startup=[provision])


def asyncapi(app: AsgiFastStream) -> AsyncAPI:
    """The AsyncAPI document of what the planner consumes and publishes."""
    try:
        version = importlib.metadata.version("pulse-planner")
    except importlib.metadata.PackageNotFoundError:
        version = "0.0.0"
    assert app.broker is not None
    return AsyncAPI(
        app.broker,
        title="Pulse planner",
        version=version,
        description="Turns requested runs into plans (DAGs of steps) or rejections.",
    )


def main() -> None:
    settings = PlannerSettings()
    serve(create_app(settings), settings)
