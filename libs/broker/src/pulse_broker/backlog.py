"""Backlog of every durable consumer a service reads from, as Prometheus gauges.

- `pulse_consumer_pending_messages{stream,consumer}` — messages in the stream that the
  consumer has not delivered yet (JetStream's `num_pending`): work waiting for a replica.
- `pulse_consumer_ack_pending_messages{stream,consumer}` — messages delivered and not yet
  acknowledged (`num_ack_pending`): work in flight, or stuck in a hung handler.

The consumers are the durable subscribers registered on the service's broker
(`durable_consumers`). Every replica reports the same numbers (the consumer is shared), so
aggregate with `max by (stream, consumer)`. A consumer JetStream does not know yet (before
the first subscriber created it) is left out rather than reported as an empty backlog.
Values are read at scrape time like the dead-letter depth (`pulse_broker.scraped`).
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple
from weakref import WeakKeyDictionary

from faststream.nats import NatsBroker
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from pulse_broker.exhausted import durable_consumers
from pulse_broker.scraped import ReadingSource, ScrapedGauges, live_connection

__all__ = [
    "Backlog",
    "BacklogSource",
    "ConsumerBacklog",
    "backlog_per_consumer",
    "consumer_backlog",
]

_PENDING = ("pulse_consumer_pending_messages", "Messages not yet delivered to the consumer")
_ACK_PENDING = (
    "pulse_consumer_ack_pending_messages",
    "Messages delivered to the consumer and not yet acknowledged",
)
_LABELS = ["stream", "consumer"]


class Backlog(NamedTuple):
    pending: int
    ack_pending: int


BacklogSource = ReadingSource[dict[tuple[str, str], Backlog]]
"""Backlog per (stream, durable) right now, or None when it cannot be read."""


class ConsumerBacklog(ScrapedGauges[dict[tuple[str, str], Backlog]]):
    """The two consumer gauges, refreshed from a `BacklogSource` at most every `ttl_s`."""

    def __init__(self, *, ttl_s: float = 5.0, timeout_s: float = 1.0) -> None:
        super().__init__({}, what="the consumers' backlog", ttl_s=ttl_s, timeout_s=timeout_s)

    def bind(self, source: BacklogSource) -> None:
        self._bind(source)

    def families(self, reading: dict[tuple[str, str], Backlog]) -> list[Metric]:
        pending = GaugeMetricFamily(*_PENDING, labels=_LABELS)
        in_flight = GaugeMetricFamily(*_ACK_PENDING, labels=_LABELS)
        for (stream, consumer), backlog in sorted(reading.items()):
            pending.add_metric([stream, consumer], backlog.pending)
            in_flight.add_metric([stream, consumer], backlog.ack_pending)
        return [pending, in_flight]


def backlog_per_consumer(broker: NatsBroker) -> BacklogSource:
    """A `BacklogSource` asking JetStream about each durable consumer of `broker` at once."""

    async def read() -> dict[tuple[str, str], Backlog] | None:
        connection = live_connection(broker)
        if connection is None:
            return None
        js = connection.jetstream()
        # Looked up at each reading: handlers may be registered after the broker was built.
        consumers = sorted(durable_consumers(broker))
        infos = await asyncio.gather(
            *(js.consumer_info(stream, durable) for stream, durable in consumers),
            return_exceptions=True,
        )
        reading: dict[tuple[str, str], Backlog] = {}
        for key, info in zip(consumers, infos, strict=True):
            if isinstance(info, NotFoundError):
                continue
            if isinstance(info, BaseException):
                raise info  # the whole reading fails: the last good one is served
            assert isinstance(info, ConsumerInfo)
            reading[key] = Backlog(info.num_pending or 0, info.num_ack_pending or 0)
        return reading

    return read


_BY_REGISTRY: WeakKeyDictionary[CollectorRegistry, ConsumerBacklog] = WeakKeyDictionary()


def consumer_backlog(registry: CollectorRegistry) -> ConsumerBacklog:
    """The consumer backlog gauges of `registry`, registered on first use (once per registry)."""
    backlog = _BY_REGISTRY.get(registry)
    if backlog is None:
        backlog = _BY_REGISTRY[registry] = ConsumerBacklog()
        registry.register(backlog)
    return backlog
