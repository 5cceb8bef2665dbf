"""The baseline: what the bus itself costs, measured with nats-py on the stack's nats-server.

Configured like Pulse's own task stream, so the figures are a floor for one Pulse hop:
file storage, work-queue retention, a two-minute duplicate window with `Nats-Msg-Id` on
every publish, a durable pull consumer with explicit acks, and producer and consumer on
separate connections as two services would be. Its stream, consumer and bucket belong to
the benchmark alone and are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Final

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    KeyValueConfig,
    PubAck,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BucketNotFoundError, NotFoundError

__all__ = ["BENCH_KV", "BENCH_STREAM", "BENCH_SUBJECT", "JetStreamBench", "RoundTrips"]

# The benchmark's own names: nothing in Pulse reads them, and no Pulse stream overlaps them.
BENCH_STREAM: Final = "PULSE_BENCH"
BENCH_SUBJECT: Final = "pulse.bench.roundtrip"
BENCH_KV: Final = "pulse_bench"
_DURABLE: Final = "pulse-bench"
_INDEX_HEADER: Final = "Bench-Index"
_FETCH_WAIT_S: Final = 2.0


@dataclass
class RoundTrips:
    """Seconds per message, from the start of its publish to its consumer's ack."""

    roundtrip_s: list[float] = field(default_factory=list)
    publish_ack_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def throughput_per_s(self) -> float:
        return len(self.roundtrip_s) / self.elapsed_s if self.elapsed_s > 0 else 0.0


class JetStreamBench:
    """Connect with `open()`, measure, then `close()` (which removes what it created)."""

    def __init__(self, nats_url: str, payload_bytes: int = 512) -> None:
        self._url = nats_url
        self._payload = b"x" * payload_bytes
        self._producer: Client | None = None
        self._consumer: Client | None = None

    async def open(self) -> str:
        """Connect twice and create the stream; returns the server's version."""
        self._producer = await nats.connect(self._url, name="pulse-bench-producer")
        self._consumer = await nats.connect(self._url, name="pulse-bench-consumer")
        await self._producer.jetstream().add_stream(
            StreamConfig(
                name=BENCH_STREAM,
                subjects=[BENCH_SUBJECT],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                duplicate_window=120.0,
            )
        )
        version = self._producer.connected_server_version
        return f"{version.major}.{version.minor}.{version.patch}"

    async def close(self) -> None:
        if self._producer is not None and self._producer.is_connected:
            js = self._producer.jetstream()
            for remove in (js.delete_stream(BENCH_STREAM), js.delete_key_value(BENCH_KV)):
                with contextlib.suppress(BucketNotFoundError, NotFoundError):
                    await remove
        for client in (self._producer, self._consumer):
            if client is not None:
                await client.close()

    def _clients(self) -> tuple[JetStreamContext, Client]:
        if self._producer is None or self._consumer is None:
            raise RuntimeError("JetStreamBench.open() first")
        return self._producer.jetstream(), self._consumer

    async def _subscribe(self, consumer: Client) -> JetStreamContext.PullSubscription:
        # A work-queue stream allows one consumer per subject: `_unsubscribe` deletes it.
        # Acks still in flight when the previous one was deleted leave messages behind.
        await consumer.jetstream().purge_stream(BENCH_STREAM)
        return await consumer.jetstream().pull_subscribe(
            BENCH_SUBJECT,
            durable=_DURABLE,
            stream=BENCH_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0),
        )

    async def _unsubscribe(self, sub: JetStreamContext.PullSubscription) -> None:
        await sub.unsubscribe()
        js, _ = self._clients()
        await js.delete_consumer(BENCH_STREAM, _DURABLE)

    def _headers(self, index: int) -> dict[str, str]:
        return {"Nats-Msg-Id": uuid.uuid4().hex, _INDEX_HEADER: str(index)}

    async def sequential(self, messages: int) -> RoundTrips:
        """One message in flight: publish, wait for the PubAck, consume, ack, repeat."""
        js, consumer = self._clients()
        sub = await self._subscribe(consumer)
        acked: asyncio.Queue[tuple[int, float]] = asyncio.Queue()

        async def consume() -> None:
            # A pull request is always waiting, as in a service's fetch loop (batch 1).
            while True:
                try:
                    batch = await sub.fetch(1, timeout=_FETCH_WAIT_S)
                except (TimeoutError, NatsTimeoutError):
                    continue
                for msg in batch:
                    await msg.ack()
                    acked.put_nowait((_index(msg), time.perf_counter()))

        result = RoundTrips()
        consumer_task = asyncio.create_task(consume())
        try:
            began = time.perf_counter()
            for index in range(messages):
                start = time.perf_counter()
                await js.publish(
                    BENCH_SUBJECT, self._payload, headers=self._headers(index), stream=BENCH_STREAM
                )
                result.publish_ack_s.append(time.perf_counter() - start)
                done = await asyncio.wait_for(_acked(acked, index), timeout=30)
                result.roundtrip_s.append(done - start)
            result.elapsed_s = time.perf_counter() - began
        finally:
            consumer_task.cancel()
            await asyncio.gather(consumer_task, return_exceptions=True)
            await self._unsubscribe(sub)
        return result

    async def pipelined(self, messages: int, *, window: int, fetch_batch: int) -> RoundTrips:
        """At most `window` messages between publish and ack; the consumer fetches batches.

        Bounding what is in flight end to end (not only the publishes awaiting a PubAck)
        keeps a backlog from building in the stream, so the latency is that of a saturated
        bus with `window` messages queued rather than a function of the message count.
        """
        _, consumer = self._clients()
        assert self._producer is not None
        js = self._producer.jetstream(publish_async_max_pending=window)
        sub = await self._subscribe(consumer)
        sent = [0.0] * messages
        finished = [0.0] * messages
        remaining = messages
        in_flight = asyncio.Semaphore(window)

        async def consume() -> None:
            nonlocal remaining
            while remaining > 0:
                try:
                    batch = await sub.fetch(fetch_batch, timeout=_FETCH_WAIT_S)
                except (TimeoutError, NatsTimeoutError):
                    continue
                for msg in batch:
                    await msg.ack()
                    finished[_index(msg)] = time.perf_counter()
                    remaining -= 1
                    in_flight.release()

        consumer_task = asyncio.create_task(consume())
        pending: list[asyncio.Future[PubAck]] = []
        try:
            began = time.perf_counter()
            for index in range(messages):
                await in_flight.acquire()
                sent[index] = time.perf_counter()
                pending.append(
                    await js.publish_async(
                        BENCH_SUBJECT,
                        self._payload,
                        wait_stall=30,
                        headers=self._headers(index),
                        stream=BENCH_STREAM,
                    )
                )
            await asyncio.gather(*pending)
            await asyncio.wait_for(consumer_task, timeout=60)
            elapsed = time.perf_counter() - began
        finally:
            consumer_task.cancel()
            await asyncio.gather(consumer_task, return_exceptions=True)
            await self._unsubscribe(sub)
        return RoundTrips(
            roundtrip_s=[done - start for start, done in zip(sent, finished, strict=True)],
            elapsed_s=elapsed,
        )

    async def kv_read_update(self, updates: int) -> RoundTrips:
        """Read a key, then write it back with compare-and-set: one executor state change."""
        js, _ = self._clients()
        kv = await js.create_key_value(
            KeyValueConfig(bucket=BENCH_KV, history=1, storage=StorageType.FILE)
        )
        revision = await kv.put("run", self._payload)
        result = RoundTrips()
        began = time.perf_counter()
        for _ in range(updates):
            start = time.perf_counter()
            entry = await kv.get("run")
            revision = await kv.update("run", self._payload, last=entry.revision or revision)
            result.roundtrip_s.append(time.perf_counter() - start)
        result.elapsed_s = time.perf_counter() - began
        return result


async def _acked(acked: asyncio.Queue[tuple[int, float]], index: int) -> float:
    """When message `index` was acked, skipping any other (there should be none)."""
    while True:
        got, at = await acked.get()
        if got == index:
            return at


def _index(msg: Msg) -> int:
    return int((msg.headers or {})[_INDEX_HEADER])
