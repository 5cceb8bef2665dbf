"""Health, readiness and metrics beside the consumers, and the uvicorn runner."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import uvicorn
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.nats import NatsBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pulse_broker.backlog import consumer_backlog
from pulse_broker.dlq_metrics import dead_letter_metrics
from pulse_broker.gc_tuning import tune_garbage_collector
from pulse_settings import ServiceSettings
from pulse_telemetry import Telemetry

__all__ = ["ReadinessCheck", "event_loop", "serve", "service_app"]

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


def service_app(
    broker: NatsBroker,
    telemetry: Telemetry,
    *,
    readiness: Sequence[tuple[str, ReadinessCheck]] = (),
    on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    after_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> AsgiFastStream:
    """An ASGI app that runs the broker's consumers and serves `/healthz`, `/readyz`, `/metrics`.

    `/healthz` answers while the process lives; `/readyz` only once consumers run and every
    readiness check passes (NATS reachable, plus the service's own, e.g. PostgreSQL).
    `/metrics` includes the dead-letter queue depth and the consumers' backlog, read (or
    taken from a short cache) first.
    """
    started = asyncio.Event()

    async def mark_started() -> None:
        started.set()

    @get
    async def healthz(scope: Any) -> AsgiResponse:
        return AsgiResponse(b'{"status":"ok"}', 200, headers={"content-type": "application/json"})

    @get
    async def readyz(scope: Any) -> AsgiResponse:
        failing: list[str] = []
        if not started.is_set():
            failing.append("starting")
        elif not await broker.ping(timeout=2.0):
            failing.append("nats")
        for name, check in readiness:
            try:
                if not await check():
                    failing.append(name)
            except Exception:  # a broken check means not ready, never a 500
                log.warning("readiness check %s raised", name, exc_info=True)
                failing.append(name)
        body = (
            b'{"status":"ready"}'
            if not failing
            else (b'{"status":"not ready","failing":["' + '","'.join(failing).encode() + b'"]}')
        )
        return AsgiResponse(
            body, 200 if not failing else 503, headers={"content-type": "application/json"}
        )

    dlq_depth = dead_letter_metrics(telemetry.registry).depth
    backlog = consumer_backlog(telemetry.registry)

    @get
    async def metrics(scope: Any) -> AsgiResponse:
        await asyncio.gather(dlq_depth.refresh(), backlog.refresh())  # bounded, cached, no raise
        return AsgiResponse(
            generate_latest(telemetry.registry), 200, headers={"content-type": CONTENT_TYPE_LATEST}
        )

    async def flush_traces() -> None:
        telemetry.shutdown()

    return AsgiFastStream(
        broker,
        asgi_routes=[("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics)],
        logger=logging.getLogger(f"pulse.{telemetry.service}"),
        on_startup=list(on_startup),
        after_startup=[*after_startup, mark_started],
        on_shutdown=list(on_shutdown),
        after_shutdown=[flush_traces],
    )


def event_loop() -> Literal["uvloop", "asyncio"]:
    """uvloop when installed (a dependency of this package): its loop and transports cost
    the services' message handling a good deal less CPU than asyncio's own."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def serve(app: Any, settings: ServiceSettings) -> None:
    """Run an ASGI app with uvicorn on the service's host and port, logging through ours."""
    tune_garbage_collector(settings.gc_young_threshold)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        loop=event_loop(),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=15,
    )
