"""What the gateway reads about the bus itself: the tool catalogue, every durable
consumer's lag (component health, and back-pressure on the planner's queue), and the
per-key token buckets it shares with its other replicas."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

from nats.aio.client import Client
from nats.js import errors as js_errors
from nats.js.api import ConsumerInfo
from nats.js.kv import KeyValue
from pydantic import ValidationError

from pulse_broker import KvConflict, TypedKv
from pulse_contracts import ToolSpec, subjects
from pulse_gateway.adapters.nats import UNAVAILABLE
from pulse_gateway.adapters.ports import BusUnavailableError
from pulse_gateway.domain import COMPONENT_OF, Bucket, ConsumerLag, RateDecision, take_token

__all__ = ["JetStreamBusInspector", "KvRateLimiter", "KvToolCatalogue", "PlannerQueue"]

log = logging.getLogger(__name__)

_CAS_ATTEMPTS: Final = 5
# A submission waits for this reading (once per check interval): keep it short.
_QUEUE_TIMEOUT_S: Final = 1.0


class KvToolCatalogue:
    """`ToolCatalogue` over KV `pulse_tools`, re-read at most every `cache_s`."""

    def __init__(self, nc: Client, *, cache_s: float = 5.0) -> None:
        self._nc = nc
        self._cache_s = cache_s
        self._cached: tuple[float, list[ToolSpec]] | None = None

    async def tools(self) -> list[ToolSpec]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self._cache_s:
            return list(self._cached[1])
        specs = await self._read()
        self._cached = (now, specs)
        return list(specs)

    async def _read(self) -> list[ToolSpec]:
        if not self._nc.is_connected:
            raise BusUnavailableError("NATS is not connected (tool catalogue)")
        try:
            bucket = await self._nc.jetstream().key_value(subjects.KV_TOOLS)
        except (js_errors.BucketNotFoundError, js_errors.NotFoundError):
            return []  # no agent-adapter has published its tools yet
        try:
            names = await bucket.keys()
        except js_errors.NoKeysError:
            return []
        specs: list[ToolSpec] = []
        for name in names:
            try:
                entry = await bucket.get(name)
            except (js_errors.KeyNotFoundError, js_errors.KeyDeletedError):
                continue
            if entry.value is None:
                continue
            try:
                specs.append(ToolSpec.model_validate_json(entry.value))
            except ValidationError:
                log.warning("tool %r in %s does not validate; not listed", name, subjects.KV_TOOLS)
        return sorted(specs, key=lambda spec: spec.name)


def _last_active(info: ConsumerInfo) -> datetime | None:
    moments = [
        seq.last_active
        for seq in (info.delivered, info.ack_floor)
        if seq is not None and seq.last_active is not None
    ]
    return max(moments) if moments else None


def _lag(info: ConsumerInfo) -> ConsumerLag:
    return ConsumerLag(
        stream=info.stream_name,
        durable=info.name,
        num_pending=info.num_pending or 0,
        num_ack_pending=info.num_ack_pending or 0,
        num_waiting=info.num_waiting or 0,
        num_redelivered=info.num_redelivered or 0,
        last_active=_last_active(info),
    )


class JetStreamBusInspector:
    """`BusInspector`: every Pulse durable, found by listing each stream's consumers."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc

    async def consumers(self) -> list[ConsumerLag]:
        js = self._nc.jetstream()
        found: dict[str, ConsumerLag] = {}
        for stream in subjects.STREAM_SUBJECTS:
            try:
                infos = await js.consumers_info(stream)
            except js_errors.NotFoundError:
                continue  # not provisioned yet
            for info in infos:
                if info.name in COMPONENT_OF:
                    found[info.name] = _lag(info)
        return [
            found.get(durable, ConsumerLag(stream=None, durable=durable, exists=False))
            for durable in COMPONENT_OF
        ]

    async def reachable(self) -> bool:
        if not self._nc.is_connected:
            return False
        try:
            await self._nc.jetstream().account_info()
        except (*UNAVAILABLE, js_errors.Error):
            return False
        return True


class PlannerQueue:
    """`RunQueue`: run requests the planner's durable has not delivered yet."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc

    async def waiting(self) -> int | None:
        if not self._nc.is_connected:
            return None  # the submission itself will fail fast with a 503
        try:
            info = await self._nc.jetstream().consumer_info(
                subjects.STREAM_RUNS, subjects.Durable.PLANNER, timeout=_QUEUE_TIMEOUT_S
            )
        except js_errors.NotFoundError:
            return None  # no planner ever ran against this NATS: nothing to measure
        # The planner's consumer also sees nothing but requests, so this is the queue.
        return info.num_pending


class KvRateLimiter:
    """`RateLimiter`: one token bucket per key in KV `pulse_rate_limits`, updated with
    compare-and-set so every replica draws from the same allowance."""

    def __init__(
        self,
        bucket: KeyValue,
        *,
        connected: Callable[[], bool],
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kv = TypedKv(bucket, Bucket)
        self._connected = connected
        self._rate, self._burst, self._clock = rate, burst, clock

    async def take(self, key_id: str) -> RateDecision:
        if self._rate <= 0 or not self._connected():
            # Without NATS there is no shared count; the request fails fast elsewhere if it
            # needs NATS, and reads that do not are not worth refusing.
            return RateDecision(True)
        for _ in range(_CAS_ATTEMPTS):
            current = await self._kv.get(key_id)
            bucket, decision = take_token(
                current.value if current else None,
                now=self._clock(),
                rate=self._rate,
                burst=self._burst,
            )
            if not decision.allowed:
                return decision  # nothing spent: no need to write
            try:
                if current is None:
                    await self._kv.create(key_id, bucket)
                else:
                    await self._kv.update(key_id, bucket, current.revision)
            except KvConflict:
                await asyncio.sleep(0)  # another replica took one meanwhile: read again
                continue
            return decision
        # Heavy contention on one key: it is being used faster than we can count; refuse.
        return RateDecision(False, retry_after_s=1)
