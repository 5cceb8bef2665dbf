"""Provision the whole bus once, before any service starts: the setup Job's first step.

Services also provision what they use at start, so this is about order and permissions:
with it, a deployment can create streams and buckets with one privileged user and leave
the services without stream-admin rights.
"""

from __future__ import annotations

import asyncio
import logging
import time

import nats
from nats.errors import Error as NatsError

from pulse_broker.provision import (
    KV_BUCKETS,
    OBJECT_STORES,
    ensure_kv,
    ensure_object_store,
    ensure_streams,
    stream_configs,
)
from pulse_settings import ServiceSettings

__all__ = ["provision_bus"]

log = logging.getLogger(__name__)


async def _quiet(exc: Exception) -> None:
    log.debug("NATS connection error: %s", exc)


async def provision_bus(settings: ServiceSettings, *, wait_s: float = 120.0) -> list[str]:
    """Create or update every Pulse stream, KV bucket and object store; return their names.

    Waits up to `wait_s` for NATS to accept connections (a fresh cluster may still be
    starting when the Job runs), then fails with the last error.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            # max_reconnect_attempts=0 would mean "forever" for the first connect in nats-py.
            nc = await nats.connect(
                settings.nats_url.split(","),
                connect_timeout=5,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.5,
                error_cb=_quiet,
            )
            break
        except (OSError, NatsError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise ConnectionError(f"NATS at {settings.nats_url} did not answer: {exc}") from exc
            log.info("waiting for NATS at %s: %s", settings.nats_url, exc)
            await asyncio.sleep(2.0)
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings)
        for bucket in KV_BUCKETS:
            await ensure_kv(js, bucket, settings)
        for bucket in OBJECT_STORES:
            await ensure_object_store(js, bucket, settings)
    finally:
        await nc.close()
    names = [str(c.name) for c in stream_configs(settings)] + [f"KV_{b}" for b in KV_BUCKETS]
    names += [f"OBJ_{b}" for b in OBJECT_STORES]
    log.info("provisioned %s", ", ".join(names))
    return names
