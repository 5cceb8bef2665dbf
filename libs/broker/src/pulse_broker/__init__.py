"""pulse-broker: how every service talks to NATS JetStream.

- `build_broker` — a NatsBroker with tracing, metrics and dead-letter middlewares;
- `durable_pull` — subscriber arguments for a durable pull consumer replicas can share;
- `publish` — publish a contract message with `Nats-Msg-Id` and trace context;
- `ensure_streams` / `ensure_kv` — idempotent provisioning of streams and KV buckets;
- `TypedKv` — pydantic documents in a KV bucket with compare-and-set;
- `service_app` / `serve` — the consumers plus `/healthz`, `/readyz`, `/metrics` under uvicorn.
"""

from pulse_broker.asgi import ReadinessCheck, serve, service_app
from pulse_broker.dead_letter import DeadLetterPolicy, dead_letter_middleware
from pulse_broker.factory import build_broker, durable_pull
from pulse_broker.kv import KvConflict, Revisioned, TypedKv
from pulse_broker.provision import KV_BUCKETS, ensure_kv, ensure_streams, stream_configs
from pulse_broker.publishing import publish
from pulse_broker.runtime import jetstream, provision_all

__all__ = [
    "KV_BUCKETS",
    "DeadLetterPolicy",
    "KvConflict",
    "ReadinessCheck",
    "Revisioned",
    "TypedKv",
    "build_broker",
    "dead_letter_middleware",
    "durable_pull",
    "ensure_kv",
    "ensure_streams",
    "jetstream",
    "provision_all",
    "publish",
    "serve",
    "service_app",
    "stream_configs",
]
