"""The outside world behind small Protocols (`ports`): where run state lives, how runs are
requested and controlled, the archive, the run event stream, the tool catalogue, bus
health and shared rate limits.

`nats`, `nats_streams`, `nats_ops` and `postgres` hold the production implementations;
`memory` and `local` in-process ones for tests and for running the API alone.
"""

from pulse_gateway.adapters.local import (
    InMemoryApiKeyDirectory,
    InMemoryBusInspector,
    InMemoryEventFeed,
    InMemoryRateLimiter,
    InMemoryRecentRuns,
    InMemoryRunArchive,
    InMemoryRunEvents,
    InMemoryRunQueue,
    InMemoryToolCatalogue,
    NoArchive,
)
from pulse_gateway.adapters.memory import (
    InMemoryRunControlPublisher,
    InMemoryRunPublisher,
    InMemoryRunStore,
    PublishedRequest,
)
from pulse_gateway.adapters.nats import (
    KvRunStore,
    NatsRunControlPublisher,
    NatsRunRequestPublisher,
)
from pulse_gateway.adapters.nats_ops import (
    JetStreamBusInspector,
    KvRateLimiter,
    KvToolCatalogue,
    PlannerQueue,
)
from pulse_gateway.adapters.nats_streams import (
    JetStreamEventFeed,
    JetStreamRecentRuns,
    JetStreamRunEvents,
)
from pulse_gateway.adapters.ports import (
    ApiKeyDirectory,
    ArchiveUnavailableError,
    BusInspector,
    BusUnavailableError,
    EventFeed,
    FeedItem,
    RateLimiter,
    RecentRun,
    RecentRuns,
    RunArchive,
    RunControlPublisher,
    RunEventSource,
    RunQueue,
    RunRequestPublisher,
    RunStore,
    StoredKey,
    ToolCatalogue,
    UsageTotals,
)
from pulse_gateway.adapters.postgres import PostgresArchive, asyncpg_dsn

__all__ = [
    "ApiKeyDirectory",
    "ArchiveUnavailableError",
    "BusInspector",
    "BusUnavailableError",
    "EventFeed",
    "FeedItem",
    "InMemoryApiKeyDirectory",
    "InMemoryBusInspector",
    "InMemoryEventFeed",
    "InMemoryRateLimiter",
    "InMemoryRecentRuns",
    "InMemoryRunArchive",
    "InMemoryRunControlPublisher",
    "InMemoryRunEvents",
    "InMemoryRunPublisher",
    "InMemoryRunQueue",
    "InMemoryRunStore",
    "InMemoryToolCatalogue",
    "JetStreamBusInspector",
    "JetStreamEventFeed",
    "JetStreamRecentRuns",
    "JetStreamRunEvents",
    "KvRateLimiter",
    "KvRunStore",
    "KvToolCatalogue",
    "NatsRunControlPublisher",
    "NatsRunRequestPublisher",
    "NoArchive",
    "PlannerQueue",
    "PostgresArchive",
    "PublishedRequest",
    "RateLimiter",
    "RecentRun",
    "RecentRuns",
    "RunArchive",
    "RunControlPublisher",
    "RunEventSource",
    "RunQueue",
    "RunRequestPublisher",
    "RunStore",
    "StoredKey",
    "ToolCatalogue",
    "UsageTotals",
    "asyncpg_dsn",
]
