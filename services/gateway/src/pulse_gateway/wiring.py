"""Which adapters back the gateway, and the services built on them.

`Backends` is everything the gateway talks to. `create_app` builds NATS- and
PostgreSQL-backed ones in its lifespan (`open_bus_backends`), or takes in-process ones
(`in_memory_backends`) so the whole API runs in a test without any server.
"""

from __future__ import annotations

from dataclasses import dataclass

from faststream.nats import NatsBroker
from nats.js.kv import KeyValue

from pulse_gateway.adapters import (
    InMemoryBusInspector,
    InMemoryRateLimiter,
    InMemoryRecentRuns,
    InMemoryRunArchive,
    InMemoryRunControlPublisher,
    InMemoryRunEvents,
    InMemoryRunQueue,
    InMemoryRunStore,
    InMemoryToolCatalogue,
    JetStreamBusInspector,
    JetStreamRecentRuns,
    JetStreamRunEvents,
    KvRateLimiter,
    KvRunStore,
    KvToolCatalogue,
    NatsRunControlPublisher,
    NatsRunRequestPublisher,
    NoArchive,
    PlannerQueue,
)
from pulse_gateway.adapters.ports import (
    BusInspector,
    RateLimiter,
    RecentRuns,
    RunArchive,
    RunControlPublisher,
    RunEventSource,
    RunQueue,
    RunRequestPublisher,
    RunStore,
    ToolCatalogue,
)
from pulse_gateway.api.deps import GatewayState
from pulse_gateway.config import Settings
from pulse_gateway.control import RunControl
from pulse_gateway.history import RunHistory
from pulse_gateway.intake import RunIntake
from pulse_gateway.platform import PlatformStatus
from pulse_gateway.protection import Admission, RequestGuard
from pulse_gateway.streaming import RunEventStreams

__all__ = ["Backends", "in_memory_backends", "install", "open_bus_backends", "uninstall"]


@dataclass
class Backends:
    store: RunStore
    publisher: RunRequestPublisher
    control: RunControlPublisher
    archive: RunArchive
    recent: RecentRuns
    events: RunEventSource
    tools: ToolCatalogue
    bus: BusInspector
    queue: RunQueue
    limiter: RateLimiter
    archive_configured: bool = True
    """False when no PostgreSQL is configured (`/v1/status` then does not report one)."""


def in_memory_backends(
    settings: Settings,
    store: RunStore,
    publisher: RunRequestPublisher,
    control: RunControlPublisher | None = None,
) -> Backends:
    """In-process backends around the given store and publisher (tests, running alone)."""
    archive: RunArchive = (
        InMemoryRunArchive(store) if isinstance(store, InMemoryRunStore) else NoArchive()
    )
    return Backends(
        store=store,
        publisher=publisher,
        control=control or InMemoryRunControlPublisher(),
        archive=archive,
        recent=InMemoryRecentRuns(),
        events=InMemoryRunEvents(),
        tools=InMemoryToolCatalogue(),
        bus=InMemoryBusInspector(),
        queue=InMemoryRunQueue(),
        limiter=InMemoryRateLimiter(
            rate=settings.rate_limit_per_s, burst=settings.rate_limit_burst
        ),
    )


async def open_bus_backends(
    broker: NatsBroker,
    settings: Settings,
    buckets: dict[str, KeyValue],
    *,
    run_state: str,
    rate_limits: str,
    archive: RunArchive | None,
) -> Backends:
    """The production backends over a connected broker (and PostgreSQL if configured);
    starts following recent run requests."""
    nc = broker.connection
    recent = JetStreamRecentRuns(nc, window_s=settings.live_runs_window_s)
    await recent.start()
    store = KvRunStore(broker, buckets[run_state])
    return Backends(
        store=store,
        publisher=NatsRunRequestPublisher(broker),
        control=NatsRunControlPublisher(broker),
        archive=archive or NoArchive(),
        recent=recent,
        events=JetStreamRunEvents(nc),
        tools=KvToolCatalogue(nc),
        bus=JetStreamBusInspector(nc),
        queue=PlannerQueue(nc),
        limiter=KvRateLimiter(
            buckets[rate_limits],
            connected=lambda: nc.is_connected,
            rate=settings.rate_limit_per_s,
            burst=settings.rate_limit_burst,
        ),
        archive_configured=archive is not None,
    )


def install(state: GatewayState, backends: Backends, settings: Settings) -> None:
    """Build the services on `backends` and hand them to the routes."""
    state.store = backends.store
    state.intake = RunIntake(
        backends.store, backends.publisher, duplicate_window_s=settings.duplicate_window_s
    )
    state.control = RunControl(backends.store, backends.control)
    state.history = RunHistory(backends.store, backends.archive, backends.recent)
    state.streams = RunEventStreams(
        state.history,
        backends.events,
        heartbeat_s=settings.stream_heartbeat_s,
        max_s=settings.stream_max_s,
    )
    state.tools = backends.tools
    state.status = PlatformStatus(
        backends.bus,
        backends.archive if backends.archive_configured else None,
        timeout_s=settings.readiness_timeout_s,
    )
    state.guard = RequestGuard(backends.limiter)
    state.admission = Admission(
        backends.queue,
        max_waiting=settings.max_run_queue,
        check_s=settings.queue_check_s,
        retry_after_s=settings.overload_retry_after_s,
    )


def uninstall(state: GatewayState) -> None:
    state.intake = None
    state.control = None
    state.history = None
    state.streams = None
    state.status = None
