"""The outside world behind small Protocols: where run state lives and how runs are requested.

`nats` holds the production implementations (JetStream KV and stream), `memory` in-process
ones for tests and for running the API alone.
"""

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
from pulse_gateway.adapters.ports import (
    BusUnavailableError,
    RunControlPublisher,
    RunRequestPublisher,
    RunStore,
)

__all__ = [
    "BusUnavailableError",
    "InMemoryRunControlPublisher",
    "InMemoryRunPublisher",
    "InMemoryRunStore",
    "KvRunStore",
    "NatsRunControlPublisher",
    "NatsRunRequestPublisher",
    "PublishedRequest",
    "RunControlPublisher",
    "RunRequestPublisher",
    "RunStore",
]
