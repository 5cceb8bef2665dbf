"""pulse-broker: how every service talks to NATS JetStream.

- `build_broker` — a NatsBroker with tracing, metrics and dead-letter middlewares, which also
  dead-letters what JetStream stopped redelivering (max-deliveries advisories);
- `durable_pull` — subscriber arguments for a durable pull consumer replicas can share;
- `publish` — publish a contract message with `Nats-Msg-Id` and trace context;
- `server_caught_up` — wait until nats-server has processed what a connection sent (a
  started `PulseBroker` has done it: its subscriptions answer at once);
- `ensure_streams` / `ensure_kv` / `ensure_object_store` — idempotent provisioning;
- `BlobStore` / `NatsBlobStore` — values too large for a message, in the object store;
- `TypedKv` — pydantic documents in a KV bucket with compare-and-set;
- `service_app` / `serve` — the consumers plus `/healthz`, `/readyz`, `/metrics` under uvicorn;
- `dead_letter_metrics` — `pulse_dlq_messages{consumer}` and `pulse_dead_letters_total`;
- `consumer_backlog` — `pulse_consumer_pending_messages` and
  `pulse_consumer_ack_pending_messages{stream,consumer}` of every durable consumer.

Operators list, replay and purge letters with `pulse dlq` (pulse-client); see README.md.
"""

from pulse_broker.asgi import ReadinessCheck, serve, service_app
from pulse_broker.backlog import Backlog, ConsumerBacklog, backlog_per_consumer, consumer_backlog
from pulse_broker.blobs import (
    BlobCorrupted,
    BlobMissing,
    BlobStore,
    InMemoryBlobStore,
    NatsBlobStore,
    load_blob,
    open_output_store,
)
from pulse_broker.dead_letter import (
    DeadLetterPolicy,
    dead_letter_middleware,
    letter_id,
    store_letter,
)
from pulse_broker.dlq_metrics import DeadLetterMetrics, DlqDepth, dead_letter_metrics
from pulse_broker.exhausted import (
    ExhaustedDeliveries,
    MaxDeliveriesAdvisory,
    dead_letter_exhausted,
    exhausted_letter,
)
from pulse_broker.factory import PulseBroker, build_broker, durable_pull
from pulse_broker.kv import KvConflict, Revisioned, TypedKv
from pulse_broker.nats_sync import server_caught_up
from pulse_broker.provision import (
    KV_BUCKETS,
    OBJECT_STORES,
    ensure_kv,
    ensure_object_store,
    ensure_streams,
    stream_configs,
)
from pulse_broker.publishing import publish
from pulse_broker.runtime import jetstream, provision_all
from pulse_broker.scraped import ScrapedGauges

__all__ = [
    "KV_BUCKETS",
    "OBJECT_STORES",
    "Backlog",
    "BlobCorrupted",
    "BlobMissing",
    "BlobStore",
    "ConsumerBacklog",
    "DeadLetterMetrics",
    "DeadLetterPolicy",
    "DlqDepth",
    "ExhaustedDeliveries",
    "InMemoryBlobStore",
    "KvConflict",
    "MaxDeliveriesAdvisory",
    "NatsBlobStore",
    "PulseBroker",
    "ReadinessCheck",
    "Revisioned",
    "ScrapedGauges",
    "TypedKv",
    "backlog_per_consumer",
    "build_broker",
    "consumer_backlog",
    "dead_letter_exhausted",
    "dead_letter_metrics",
    "dead_letter_middleware",
    "durable_pull",
    "ensure_kv",
    "ensure_object_store",
    "ensure_streams",
    "exhausted_letter",
    "jetstream",
    "letter_id",
    "load_blob",
    "open_output_store",
    "provision_all",
    "publish",
    "serve",
    "server_caught_up",
    "service_app",
    "store_letter",
    "stream_configs",
]
