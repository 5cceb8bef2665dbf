"""Composition root: settings -> telemetry -> broker -> adapters -> routes -> FastAPI app."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream.nats import NatsBroker
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from pulse_broker import build_broker, provision_all, serve
from pulse_contracts import CancelRun, RestartRun, RunRequested, subjects
from pulse_gateway.adapters import (
    InMemoryRunControlPublisher,
    KvRunStore,
    NatsRunControlPublisher,
    NatsRunRequestPublisher,
    RunControlPublisher,
    RunRequestPublisher,
    RunStore,
)
from pulse_gateway.api.auth import ApiKeys
from pulse_gateway.api.deps import GatewayState
from pulse_gateway.api.limits import BodySizeLimitMiddleware
from pulse_gateway.api.metrics import HttpMetrics, HttpMetricsMiddleware
from pulse_gateway.api.ops import ops_router
from pulse_gateway.api.problems import install_problem_handlers
from pulse_gateway.api.security import SecurityHeadersMiddleware
from pulse_gateway.config import DEVELOPMENT_API_KEY, Settings
from pulse_gateway.control import RunControl
from pulse_gateway.handlers import runs_router
from pulse_gateway.intake import RunIntake
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


def create_app(
    settings: Settings | None = None,
    *,
    telemetry: Telemetry | None = None,
    store: RunStore | None = None,
    publisher: RunRequestPublisher | None = None,
    control: RunControlPublisher | None = None,
) -> FastAPI:
    """Build the gateway.

    Without `store`/`publisher` it talks to NATS: the broker connects, provisions the
    streams and the run-state bucket, and starts in the app's lifespan. Passing both
    (e.g. the in-memory adapters) gives an app that needs no NATS, for tests; cancel and
    restart commands then go to `control` (by default an in-memory one).
    """
    settings = settings or Settings()
    telemetry = telemetry or setup_telemetry(settings)
    if (store is None) != (publisher is None):
        raise ValueError("pass both store and publisher, or neither (to use NATS)")

    state = GatewayState(api_keys=ApiKeys(settings.api_keys))
    broker: NatsBroker | None = None
    if store is not None and publisher is not None:
        state.store = store
        state.intake = RunIntake(store, publisher, duplicate_window_s=settings.duplicate_window_s)
        state.control = RunControl(store, control or InMemoryRunControlPublisher())

        async def store_reachable() -> bool:
            return await store.reachable()

        state.readiness = [("run_state", store_reachable)]
    else:
        broker = build_broker(settings, telemetry)
        # Declared for the AsyncAPI document; publishing goes through NatsRunRequestPublisher.
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
        try:
            if broker is not None:
                await broker.connect()
                buckets = await provision_all(broker, settings, (subjects.KV_RUN_STATE,))
                await broker.start()
                kv_store = KvRunStore(broker, buckets[subjects.KV_RUN_STATE])
                state.store = kv_store
                state.intake = RunIntake(
                    kv_store,
                    NatsRunRequestPublisher(broker),
                    duplicate_window_s=settings.duplicate_window_s,
                )
                state.control = RunControl(kv_store, NatsRunControlPublisher(broker))
            log.info("gateway ready on %s:%s", settings.http_host, settings.http_port)
            yield
        finally:
            state.intake = None
            state.control = None
            if broker is not None:
                await broker.stop()
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
    app.include_router(
        ops_router(telemetry.registry, readiness_timeout_s=settings.readiness_timeout_s)
    )
    # add_middleware puts each one outside the previous: metrics see every answer,
    # including the 413s, and every answer gets the security headers.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(telemetry.registry))
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
