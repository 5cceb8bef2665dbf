"""Dead-letter metrics: how many letters wait in `PULSE_DLQ`, and how many this process wrote.

- `pulse_dlq_messages{consumer}` — letters in `PULSE_DLQ` per consumer (the `<consumer>` of
  `pulse.dlq.<consumer>`). Every service reports the whole queue, so the number stays visible
  while the failing service itself crash-loops; aggregate with `max by (consumer)`.
- `pulse_dead_letters_total{consumer,code}` — letters this process stored (duplicates that
  JetStream dropped are not counted).

The depth is read from JetStream when `/metrics` is scraped, bounded by a short timeout and
cached for a few seconds; a slow or unreachable NATS serves the last known values and never
fails the scrape.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from faststream.nats import NatsBroker
from nats.js.errors import NotFoundError
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pulse_contracts import DeadLettered, subjects

__all__ = [
    "DeadLetterMetrics",
    "DepthSource",
    "DlqDepth",
    "dead_letter_metrics",
    "letters_per_consumer",
]

log = logging.getLogger(__name__)

DepthSource = Callable[[], Awaitable[dict[str, int] | None]]
"""Letters per consumer right now, or None when they cannot be read (e.g. not connected)."""

_DEPTH_NAME = "pulse_dlq_messages"
_DEPTH_HELP = "Dead letters waiting in PULSE_DLQ, per consumer"


class DlqDepth(Collector):
    """The `pulse_dlq_messages` gauge, refreshed from a `DepthSource` at most every `ttl_s`."""

    def __init__(self, *, ttl_s: float = 10.0, timeout_s: float = 1.0) -> None:
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._source: DepthSource | None = None
        self._always: Callable[[], Iterable[str]] = tuple
        self._counts: dict[str, int] = {}
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None

    def bind(self, source: DepthSource, always: Callable[[], Iterable[str]] = tuple) -> None:
        """Read from `source`; report the consumers `always` names even with no letters (0)."""
        self._source = source
        self._always = always
        self._checked_at = float("-inf")

    @property
    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    async def refresh(self) -> None:
        """Read the depth unless the cached value is fresh. Never raises."""
        if self._source is None or time.monotonic() - self._checked_at < self.ttl_s:
            return
        async with self._lock:
            if time.monotonic() - self._checked_at < self.ttl_s:
                return  # another scrape refreshed it while this one waited
            try:
                counts = await asyncio.wait_for(self._source(), self.timeout_s)
            except Exception as exc:  # a metric must never break the scrape
                log.warning("could not read the dead-letter queue depth: %r", exc)
                counts = None
            # Failures count as a check too, so a dead NATS is asked once per ttl, not per scrape.
            self._checked_at = time.monotonic()
            if counts is not None:
                self._counts = counts

    def _refresh_soon(self) -> None:
        """From a synchronous `collect()` inside an event loop: refresh for the next scrape."""
        if self._source is None or time.monotonic() - self._checked_at < self.ttl_s:
            return
        if self._pending is not None and not self._pending.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._pending = loop.create_task(self.refresh())

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(_DEPTH_NAME, _DEPTH_HELP, labels=["consumer"])]

    def collect(self) -> Iterable[Metric]:
        # An endpoint that cannot await `refresh()` first (any other /metrics) still converges.
        self._refresh_soon()
        family = GaugeMetricFamily(_DEPTH_NAME, _DEPTH_HELP, labels=["consumer"])
        counts = dict.fromkeys(self._always(), 0) | self._counts
        for consumer, count in sorted(counts.items()):
            family.add_metric([consumer], count)
        return [family]


def letters_per_consumer(broker: NatsBroker) -> DepthSource:
    """A `DepthSource` reading `PULSE_DLQ` through `broker`'s connection, once connected."""

    async def read() -> dict[str, int] | None:
        try:
            connection = broker.connection
        except Exception:  # FastStream raises IncorrectState before the first connect
            return None
        if not getattr(connection, "is_connected", False):
            return None
        try:
            info = await connection.jetstream().stream_info(
                subjects.STREAM_DLQ, subjects_filter=subjects.DLQ_WILDCARD
            )
        except NotFoundError:
            return {}
        prefix = f"{subjects.DLQ_PREFIX}."
        return {
            subject.removeprefix(prefix): count
            for subject, count in (info.state.subjects or {}).items()
        }

    return read


@dataclass(frozen=True)
class DeadLetterMetrics:
    depth: DlqDepth
    written: Counter

    def record(self, letter: DeadLettered) -> None:
        self.written.labels(consumer=letter.consumer, code=letter.error.code.value).inc()


_BY_REGISTRY: WeakKeyDictionary[CollectorRegistry, DeadLetterMetrics] = WeakKeyDictionary()


def dead_letter_metrics(registry: CollectorRegistry) -> DeadLetterMetrics:
    """The dead-letter metrics of `registry`, registered on first use (once per registry)."""
    metrics = _BY_REGISTRY.get(registry)
    if metrics is None:
        depth = DlqDepth()
        registry.register(depth)
        written = Counter(
            "pulse_dead_letters",
            "Dead letters this process stored in PULSE_DLQ",
            ["consumer", "code"],
            registry=registry,
        )
        metrics = _BY_REGISTRY[registry] = DeadLetterMetrics(depth, written)
    return metrics
