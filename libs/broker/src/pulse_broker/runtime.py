"""Reaching JetStream through a FastStream broker, and provisioning before consumers start."""

from __future__ import annotations

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from pulse_broker.provision import ensure_kv, ensure_streams
from pulse_settings import ServiceSettings

__all__ = ["jetstream", "provision_all"]


async def jetstream(broker: NatsBroker) -> JetStreamContext:
    """The broker's JetStream context, connecting first if needed."""
    await broker.connect()
    return broker.connection.jetstream()


async def provision_all(
    broker: NatsBroker, settings: ServiceSettings, buckets: tuple[str, ...] = ()
) -> dict[str, KeyValue]:
    """Create or update every stream and the given KV buckets; return the buckets.

    Call from `on_startup`: FastStream creates the durable consumers in `broker.start()`,
    which runs after it, and a consumer needs its stream to exist. With
    `provision_streams` off (a setup job provisioned them) the buckets are only looked up.
    """
    js = await jetstream(broker)
    if not settings.provision_streams:
        return {bucket: await js.key_value(bucket) for bucket in buckets}
    await ensure_streams(js, settings)
    return {bucket: await ensure_kv(js, bucket, settings) for bucket in buckets}
