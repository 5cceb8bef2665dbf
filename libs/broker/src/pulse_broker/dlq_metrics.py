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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from faststream.nats import NatsBroker
from nats.js.errors import NotFoundError
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric

from pulse_broker.scraped import ReadingSource, ScrapedGauges, live_connection
from pulse_contracts import DeadLettered, subjects

__all__ = [
    "DeadLetterMetrics",
    "DepthSource",
    "DlqDepth",
    "dead_letter_metrics",
    "letters_per_consumer",
]

DepthSource = ReadingSource[dict[str, int]]
"""Letters per consumer right now, or None when they cannot be read (e.g. not connected)."""

_DEPTH_NAME = "pulse_dlq_messages"
_DEPTH_HELP = "Dead letters waiting in PULSE_DLQ, per consumer"


class DlqDepth(ScrapedGauges[dict[str, int]]):
    """The `pulse_dlq_messages` gauge, refreshed from a `DepthSource` at most every `ttl_s`."""

    def __init__(self, *, ttl_s: float = 10.0, timeout_s: float = 1.0) -> None:
        super().__init__({}, what="the dead-letter queue depth", ttl_s=ttl_s, timeout_s=timeout_s)
        self._always: Callable[[], Iterable[str]] = tuple

    def bind(self, source: DepthSource, always: Callable[[], Iterable[str]] = tuple) -> None:
        """Read from `source`; report the consumers `always` names even with no letters (0)."""
        self._always = always
        self._bind(source)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.reading)

    def families(self, reading: dict[str, int]) -> list[Metric]:
        family = GaugeMetricFamily(_DEPTH_NAME, _DEPTH_HELP, labels=["consumer"])
        for consumer, count in sorted((dict.fromkeys(self._always(), 0) | reading).items()):
            family.add_metric([consumer], count)
        return [family]


def letters_per_consumer(broker: NatsBroker) -> DepthSource:
    """A `DepthSource` reading `PULSE_DLQ` through `broker`'s connection, once connected."""

    async def read() -> dict[str, int] | None:
        connection = live_connection(broker)
        if connection is None:
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
