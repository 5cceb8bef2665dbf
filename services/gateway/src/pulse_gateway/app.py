"""Composition root: settings -> telemetry -> broker -> adapters -> routes -> FastAPI app."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from faststream.nats import NatsBroker
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from pulse_broker import build_broker, provision_all, serve
from pulse_contracts import CancelRun, RestartRun, RunRequested, subjects
from pulse_gateway.a2a import mount_a2a
from pulse_gateway.adapters import (
    JetStreamRecentRuns,
    PostgresArchive,
    RunControlPublisher,
    RunRequestPublisher,
    RunStore,
)
from pulse_gateway.api.baggage import DropClientBaggageMiddleware
from pulse_gateway.api.deps import GatewayState
from pulse_gateway.api.events import events_router
from pulse_gateway.api.limits import BodySizeLimitMiddleware
from pulse_gateway.api.metrics import HttpMetrics, HttpMetricsMiddleware
from pulse_gateway.api.ops import ops_router
from pulse_gateway.api.platform import platform_router
from pulse_gateway.api.problems import install_problem_handlers
from pulse_gateway.api.security import SecurityHeadersMiddleware
from pulse_gateway.api.timeouts import RequestTimeoutMiddleware
from pulse_gateway.auth import ApiKeyAuthenticator, StaticApiKeys
from pulse_gateway.config import DEVELOPMENT_API_KEY, Settings
from pulse_gateway.handlers import runs_router
from pulse_gateway.wiring import Backends, in_memory_backends, install, open_bus_backends, uninstall
from pulse_telemetry import Telemetry, setup_telemetry

__all__ = ["create_app", "main"]

log = logging.getLogger(__name__)

# Probes and scrapes every few seconds would bury the run traces.
_UNTRACED_URLS = "/healthz,/readyz,/metrics"


def _version() -> str:
    try:
        return importlib.metadata.version("pulse-gateway")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _nats_readiness(state: GatewayState, broker: NatsBroker, timeout_s: float) -> None:
    async def nats() -> bool:
        return await broker.ping(timeout=timeout_s)

    async def run_state() -> bool:
        return state.store is not None and await state.store.reachable()

    state.readiness = [("nats", nats), ("run_state", run_state)]


def _declare_publishers(broker: NatsBroker) -> None:
    # Declared for the AsyncAPI document; publishing goes through the adapters.
    broker.publisher(
        subjects.RUNS_REQUESTED,
        schema=RunRequested,
        title="gateway: RunRequested",
        description="A run submitted over HTTP, after its state was stored as submitted.",
    )
    broker.publisher(
        subjects.RUNS_CANCEL,
        schema=CancelRun,
        title="gateway: CancelRun",
        description="POST /v1/runs/{id}/cancel of a run that has not ended.",
    )
    broker.publisher(
        subjects.RUNS_RESTART,
        schema=RestartRun,
        title="gateway: RestartRun",
        description="POST /v1/runs/{id}/restart of a failed or canceled run.",
    )


def create_app(
    settings: Settings | None = None,
    *,
    telemetry: Telemetry | None = None,
    store: RunStore | None = None,
    publisher: RunRequestPublisher | None = None,
    control: RunControlPublisher | None = None,
    backends: Backends | None = None,
) -> FastAPI:
    """Build the gateway.

    Without `store`/`publisher`/`backends` it talks to NATS (and PostgreSQL when
    PULSE_DATABASE_URL is set): the broker connects, provisions the streams and buckets,
    and starts in the app's lifespan. `backends` (or just `store` and `publisher`, around
    which in-memory backends are built) gives an app that needs no server, for tests.
    """
    settings = settings or Settings()
    telemetry = telemetry or setup_telemetry(settings)
    if (store is None) != (publisher is None):
        raise ValueError("pass both store and publisher, or neither (to use NATS)")
    if backends is None and store is not None and publisher is not None:
        backends = in_memory_backends(settings, store, publisher, control)

    archive = (
        PostgresArchive(
            settings.database_url,
            pool_size=settings.database_pool_size,
            timeout_s=settings.database_timeout_s,
        )
        if settings.database_url and backends is None
        else None
    )
    state = GatewayState(
        authenticator=ApiKeyAuthenticator(
            StaticApiKeys(settings.api_keys), archive, cache_s=settings.api_key_cache_s
        )
    )
    broker: NatsBroker | None = None
    if backends is not None:
        install(state, backends, settings)
        memory_store = backends.store

        async def store_reachable() -> bool:
            return await memory_store.reachable()

        state.readiness = [("run_state", store_reachable)]
    else:
        broker = build_broker(settings, telemetry)
        _declare_publishers(broker)
        _nats_readiness(state, broker, settings.readiness_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.uses_development_key:
            log.warning(
                "the development API key %r is accepted (tenant %r); set PULSE_API_KEYS "
                "before exposing this gateway",
                DEVELOPMENT_API_KEY,
                settings.api_keys[DEVELOPMENT_API_KEY],
            )
        live: Backends | None = None
        try:
            if broker is not None:
                await broker.connect()
                buckets = await provision_all(
                    broker, settings, (subjects.KV_RUN_STATE, subjects.KV_RATE_LIMITS)
                )
                await broker.start()
                live = await open_bus_backends(
                    broker,
                    settings,
                    buckets,
                    run_state=subjects.KV_RUN_STATE,
                    rate_limits=subjects.KV_RATE_LIMITS,
                    archive=archive,
                )
                install(state, live, settings)
            log.info("gateway ready on %s:%s", settings.http_host, settings.http_port)
            yield
        finally:
            if live is not None:
                uninstall(state)
                if isinstance(live.recent, JetStreamRecentRuns):
                    await live.recent.stop()
            if broker is not None:
                await broker.stop()
            if archive is not None:
                await archive.close()
            telemetry.shutdown()

    app = FastAPI(
        title="Pulse gateway",
        summary="Submit goals to Pulse and follow their runs.",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.gateway = state
    app.state.broker = broker
    install_problem_handlers(app, retry_after_s=settings.retry_after_s)
    app.include_router(runs_router())
    app.include_router(events_router())
    app.include_router(platform_router())
    app.include_router(
        ops_router(telemetry.registry, readiness_timeout_s=settings.readiness_timeout_s)
    )
    # A2A: agent card, JSON-RPC and HTTP+JSON bindings over the same runs and API keys.
    mount_a2a(app)
    # add_middleware puts each one outside the previous: metrics see every answer,
    # including the 413s and 504s, and every answer gets the security headers.
    app.add_middleware(RequestTimeoutMiddleware, timeout_s=settings.request_timeout_s)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Location", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(telemetry.registry))
    app.add_middleware(DropClientBaggageMiddleware)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=telemetry.tracer_provider,
        excluded_urls=_UNTRACED_URLS,
        exclude_spans=["receive", "send"],
    )
    return app


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
