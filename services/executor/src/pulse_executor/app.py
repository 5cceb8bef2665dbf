"""Composition root: settings -> telemetry -> broker -> store and publisher -> handlers -> app."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker

from pulse_broker import (
    BlobStore,
    NatsBlobStore,
    ReadinessCheck,
    build_broker,
    open_output_store,
    provision_all,
    serve,
    service_app,
)
from pulse_contracts import subjects
from pulse_executor.adapters import BusEffectPublisher, NatsRunStore, RunStore, Send
from pulse_executor.config import Settings
from pulse_executor.coordinator import RunCoordinator
from pulse_executor.domain import RunDefaults
from pulse_executor.handlers import register_handlers
from pulse_executor.metrics import ExecutorMetrics
from pulse_telemetry import Telemetry, setup_telemetry

__all__ = ["ExecutorService", "create_app", "create_service", "main"]


@dataclass(frozen=True)
class ExecutorService:
    """Everything `create_service` wired together, so tests can reach the parts."""

    settings: Settings
    telemetry: Telemetry
    broker: NatsBroker
    store: RunStore
    coordinator: RunCoordinator
    app: AsgiFastStream


def create_service(
    settings: Settings | None = None,
    *,
    store: RunStore | None = None,
    send: Send | None = None,
    install_telemetry: bool = True,
    blobs: BlobStore | None = None,
) -> ExecutorService:
    """Build the executor.

    `store` defaults to the JetStream KV bucket; a `NatsRunStore` (given or default) is
    bound to the bucket at start-up, after provisioning. `blobs` (large values) defaults
    to the object store, bound the same way. `send` replaces how effects reach their
    stream (default: straight on the broker's connection, `adapters.DirectSend`).
    """
    settings = settings or Settings()
    telemetry = setup_telemetry(settings, install_global=install_telemetry)
    broker = build_broker(settings, telemetry)
    run_store: RunStore = NatsRunStore() if store is None else store
    kv_store = run_store if isinstance(run_store, NatsRunStore) else None
    blob_store: BlobStore = NatsBlobStore() if blobs is None else blobs
    publisher = BusEffectPublisher(broker, send, tracer=telemetry.tracer)
    coordinator = RunCoordinator(
        run_store,
        publisher,
        attempts=settings.state_update_attempts,
        backoff_ms=settings.state_conflict_backoff_ms,
        defaults=RunDefaults(
            deadline_s=settings.run_deadline_s,
            timeout_grace_s=settings.step_timeout_grace_s,
            large_value_bytes=settings.large_output_bytes,
            state_budget_bytes=settings.run_state_budget_bytes,
        ),
        blobs=blob_store,
        metrics=ExecutorMetrics(telemetry.registry),
        timers=publisher,
        kept_states=settings.state_cache_runs,
    )
    register_handlers(broker, settings, coordinator)

    async def provision() -> None:
        buckets = await provision_all(broker, settings, (subjects.KV_RUN_STATE,))
        if kv_store is not None:
            kv_store.bind(buckets[subjects.KV_RUN_STATE])
        if isinstance(blob_store, NatsBlobStore):
            await open_output_store(broker, settings, blob_store)

    readiness: list[tuple[str, ReadinessCheck]] = []
    if kv_store is not None:
        readiness.append(("run_state", kv_store.ready))
    if isinstance(blob_store, NatsBlobStore):
        readiness.append(("outputs", blob_store.ready))
    app = service_app(broker, telemetry, readiness=readiness, on_startup=[provision])
    return ExecutorService(settings, telemetry, broker, run_store, coordinator, app)


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    return create_service(settings).app


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
