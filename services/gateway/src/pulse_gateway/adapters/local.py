"""In-process archive, event stream, tool catalogue, bus health, run queue, rate limiter and
key directory: for tests, and for running the API without NATS or PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from pulse_contracts import RunEvent, RunState, ToolSpec
from pulse_gateway.adapters.memory import InMemoryRunStore
from pulse_gateway.adapters.ports import (
    ArchiveUnavailableError,
    FeedItem,
    RecentRun,
    StoredKey,
    UsageTotals,
)
from pulse_gateway.domain import Bucket, ConsumerLag, RateDecision, RunQuery, take_token

__all__ = [
    "InMemoryApiKeyDirectory",
    "InMemoryBusInspector",
    "InMemoryEventFeed",
    "InMemoryRateLimiter",
    "InMemoryRecentRuns",
    "InMemoryRunArchive",
    "InMemoryRunEvents",
    "InMemoryRunQueue",
    "InMemoryToolCatalogue",
    "NoArchive",
]


class InMemoryRunArchive:
    """The archive as a view of an in-memory run store (everything is "archived")."""

    def __init__(self, store: InMemoryRunStore) -> None:
        self._store = store
        self.available = True
        self.events: dict[str, list[RunEvent]] = {}
        """Archived events by run id (tests put them here)."""

    def _check(self) -> None:
        if not self.available:
            raise ArchiveUnavailableError("archive is unavailable")

    def _mine(self, tenant: str) -> list[RunState]:
        return [s.model_copy(deep=True) for s in self._store.runs.values() if s.tenant == tenant]

    async def list_runs(self, tenant: str, query: RunQuery) -> list[RunState]:
        self._check()
        found = [s for s in self._mine(tenant) if query.matches(s)]
        found.sort(key=lambda s: (s.created_at, s.run_id), reverse=True)
        return found[: query.limit + 1]

    async def get_run(self, tenant: str, run_id: str) -> RunState | None:
        self._check()
        state = self._store.runs.get(run_id)
        return state.model_copy(deep=True) if state and state.tenant == tenant else None

    async def run_events(self, tenant: str, run_id: str) -> list[RunEvent]:
        self._check()
        return [e for e in self.events.get(run_id, []) if e.tenant == tenant]

    async def usage(
        self, tenant: str, since: datetime | None, until: datetime | None
    ) -> UsageTotals:
        self._check()
        runs = [
            s
            for s in self._mine(tenant)
            if (since is None or s.created_at >= since) and (until is None or s.created_at < until)
        ]
        by_status: dict[str, int] = {}
        for s in runs:
            by_status[s.status.value] = by_status.get(s.status.value, 0) + 1
        return UsageTotals(
            runs=len(runs),
            prompt_tokens=sum(s.usage.prompt_tokens for s in runs),
            completion_tokens=sum(s.usage.completion_tokens for s in runs),
            cost_usd=round(sum(s.usage.cost_usd for s in runs), 10),
            by_status=by_status,
        )

    async def reachable(self) -> bool:
        return self.available


class InMemoryRecentRuns:
    """Nothing beyond what the archive view already lists; remembers notes for tests."""

    def __init__(self) -> None:
        self.noted: list[RecentRun] = []

    def recent(self, tenant: str) -> list[RecentRun]:
        return sorted(
            (r for r in self.noted if r.tenant == tenant), key=lambda r: r.created_at, reverse=True
        )

    def note(self, state: RunState) -> None:
        self.noted.append(RecentRun(state.run_id, state.tenant, state.created_at, state.prompt))


@dataclass
class InMemoryEventFeed:
    events: list[RunEvent]
    position: int
    changed: asyncio.Condition
    initial_backlog: int = 0

    async def next(self, timeout_s: float) -> FeedItem | None:
        async with self.changed:
            try:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: self.position < len(self.events)), timeout_s
                )
            except TimeoutError:
                return None
            event = self.events[self.position]
            self.position += 1
            return FeedItem(event, len(self.events) - self.position)


class InMemoryRunEvents:
    """Per-run event lists; `publish` appends and wakes every follower."""

    def __init__(self) -> None:
        self._events: dict[str, list[RunEvent]] = {}
        self._changed: dict[str, asyncio.Condition] = {}
        self.followers = 0

    def _condition(self, run_id: str) -> asyncio.Condition:
        return self._changed.setdefault(run_id, asyncio.Condition())

    async def publish(self, event: RunEvent) -> None:
        condition = self._condition(event.run_id)
        async with condition:
            self._events.setdefault(event.run_id, []).append(event)
            condition.notify_all()

    @asynccontextmanager
    async def follow(self, run_id: str) -> AsyncIterator[InMemoryEventFeed]:
        events = self._events.setdefault(run_id, [])
        self.followers += 1
        try:
            yield InMemoryEventFeed(events, 0, self._condition(run_id), len(events))
        finally:
            self.followers -= 1


@dataclass
class InMemoryToolCatalogue:
    specs: list[ToolSpec] = field(default_factory=list)

    async def tools(self) -> list[ToolSpec]:
        return sorted(self.specs, key=lambda t: t.name)


@dataclass
class InMemoryBusInspector:
    lags: list[ConsumerLag] = field(default_factory=list)
    available: bool = True

    async def consumers(self) -> list[ConsumerLag]:
        return list(self.lags)

    async def reachable(self) -> bool:
        return self.available


@dataclass
class InMemoryRunQueue:
    depth: int | None = 0

    async def waiting(self) -> int | None:
        return self.depth


class InMemoryRateLimiter:
    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.time) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._buckets: dict[str, Bucket] = {}

    async def take(self, key_id: str) -> RateDecision:
        if self._rate <= 0:
            return RateDecision(True)
        bucket, decision = take_token(
            self._buckets.get(key_id), now=self._clock(), rate=self._rate, burst=self._burst
        )
        self._buckets[key_id] = bucket
        return decision


@dataclass
class InMemoryApiKeyDirectory:
    keys: dict[str, StoredKey] = field(default_factory=dict)
    """By key hash."""
    available: bool = True
    lookups: int = 0

    async def find(self, key_hash: str) -> StoredKey | None:
        self.lookups += 1
        if not self.available:
            raise ArchiveUnavailableError("key directory is unavailable")
        return self.keys.get(key_hash)


class NoArchive:
    """`RunArchive` when no PostgreSQL is configured: no history, only live runs."""

    async def list_runs(self, tenant: str, query: RunQuery) -> list[RunState]:
        return []

    async def get_run(self, tenant: str, run_id: str) -> RunState | None:
        return None

    async def run_events(self, tenant: str, run_id: str) -> list[RunEvent]:
        return []

    async def usage(
        self, tenant: str, since: datetime | None, until: datetime | None
    ) -> UsageTotals:
        return UsageTotals()

    async def reachable(self) -> bool:
        return True
