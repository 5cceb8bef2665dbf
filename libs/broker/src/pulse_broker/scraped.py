"""Gauges whose values live in JetStream and are read when `/metrics` is scraped.

A scrape must stay fast and must never fail because NATS is slow or away, and a
Prometheus server scraping every few seconds (times every replica) must not turn into a
stream of JetStream API calls. So a reading is taken at most once per `ttl_s`, is cut
short after `timeout_s`, and a failed or missing reading keeps serving the last good one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from faststream.nats import NatsBroker
from nats.aio.client import Client
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

__all__ = ["ReadingSource", "ScrapedGauges", "live_connection"]

log = logging.getLogger(__name__)

Reading = TypeVar("Reading")

ReadingSource = Callable[[], Awaitable[Reading | None]]
"""Reads the current values; None when they cannot be read yet (e.g. not connected)."""


def live_connection(broker: NatsBroker) -> Client | None:
    """`broker`'s NATS connection once it is up, else None (a reading waits for it)."""
    try:
        connection = broker.connection
    except Exception:  # FastStream raises IncorrectState before the first connect
        return None
    # `is True`: FastStream's in-memory test broker stands in a mock, whose every attribute
    # is truthy; reading through it would leave un-awaited mock coroutines behind.
    return connection if getattr(connection, "is_connected", False) is True else None


class ScrapedGauges(Collector, Generic[Reading]):
    """A collector serving the last reading of a `ReadingSource`, refreshed at scrape time.

    Subclasses turn a reading into metric families (`families`). The `/metrics` endpoint
    awaits `refresh()` before rendering; any other renderer (which cannot await) still
    converges, because `collect()` schedules a refresh for the next scrape.
    """

    def __init__(self, empty: Reading, *, what: str, ttl_s: float, timeout_s: float) -> None:
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._empty = empty
        self._what = what
        self._reading = empty
        self._source: ReadingSource[Reading] | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None

    def _bind(self, source: ReadingSource[Reading]) -> None:
        self._source = source
        self._checked_at = float("-inf")

    @property
    def reading(self) -> Reading:
        return self._reading

    def _stale(self, max_age_s: float) -> bool:
        return self._source is not None and time.monotonic() - self._checked_at >= max_age_s

    async def refresh(self, *, max_age_s: float | None = None) -> None:
        """Take a new reading unless the last one is younger than `max_age_s` (default
        `ttl_s`). Never raises."""
        max_age_s = self.ttl_s if max_age_s is None else max_age_s
        if not self._stale(max_age_s):
            return
        async with self._lock:
            if not self._stale(max_age_s) or self._source is None:
                return  # another scrape refreshed it while this one waited
            try:
                reading = await asyncio.wait_for(self._source(), self.timeout_s)
            except Exception as exc:  # a metric must never break the scrape
                log.warning("could not read %s: %r", self._what, exc)
                reading = None
            # Failures count as a check too, so a dead NATS is asked once per ttl, not per scrape.
            self._checked_at = time.monotonic()
            if reading is not None:
                self._reading = reading

    def _refresh_soon(self) -> None:
        """From a synchronous `collect()` inside an event loop: refresh for the next scrape."""
        if not self._stale(self.ttl_s) or (self._pending is not None and not self._pending.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._pending = loop.create_task(self.refresh())

    @abstractmethod
    def families(self, reading: Reading) -> list[Metric]:
        """The metric families for `reading` (for `describe`, the empty reading)."""

    def describe(self) -> Iterable[Metric]:
        return self.families(self._empty)

    def collect(self) -> Iterable[Metric]:
        self._refresh_soon()
        return self.families(self._reading)
