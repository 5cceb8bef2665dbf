"""What the gateway needs from the outside world: a run-state store, ways to publish, the
archive, the run event stream, the tool catalogue, bus health and shared rate limits."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pulse_contracts import (
    CancelRun,
    ErrorCode,
    PulseError,
    RestartRun,
    RunEvent,
    RunRequested,
    RunState,
    ToolSpec,
)
from pulse_gateway.domain import ConsumerLag, RateDecision, RunQuery

__all__ = [
    "ApiKeyDirectory",
    "ArchiveUnavailableError",
    "BusInspector",
    "BusUnavailableError",
    "EventFeed",
    "FeedItem",
    "RateLimiter",
    "RecentRun",
    "RecentRuns",
    "RunArchive",
    "RunControlPublisher",
    "RunEventSource",
    "RunQueue",
    "RunRequestPublisher",
    "RunStore",
    "StoredKey",
    "ToolCatalogue",
    "UsageTotals",
]


class BusUnavailableError(PulseError):
    """NATS (or its JetStream) cannot be reached right now; the client should retry."""

    code = ErrorCode.INTERNAL
    retryable = True


class RunStore(Protocol):
    """Live run state keyed by run id (the `pulse_run_state` KV bucket in production).

    Every method raises `BusUnavailableError` when the store cannot be reached.
    """

    async def create(self, state: RunState) -> bool:
        """Store a new run; False (and nothing written) if its id is already taken."""
        ...

    async def get(self, run_id: str) -> RunState | None: ...

    async def reachable(self) -> bool: ...


class RunRequestPublisher(Protocol):
    """Hands `RunRequested` to the planner (JetStream in production)."""

    async def publish(self, message: RunRequested) -> None:
        """Publish with the current trace context and baggage in the headers.

        A resend of the same `message_id` must not be delivered twice. Raises
        `BusUnavailableError` when the message could not be handed over.
        """
        ...


class RunControlPublisher(Protocol):
    """Hands `CancelRun` / `RestartRun` to the executor (JetStream in production)."""

    async def publish(self, message: CancelRun | RestartRun) -> None:
        """Publish on the command's subject; a resend of the same `message_id` is dropped.

        Raises `BusUnavailableError` when the message could not be handed over.
        """
        ...


# --- reads and protection (round 3) ------------------------------------------------------


class ArchiveUnavailableError(PulseError):
    """PostgreSQL (history, usage, stored API keys) cannot be reached right now."""

    code = ErrorCode.INTERNAL
    retryable = True


@dataclass(frozen=True)
class StoredKey:
    """A row of the `api_keys` table (never the key itself: only its hash is stored)."""

    key_id: str
    tenant: str
    name: str | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyDirectory(Protocol):
    """Keys made with `pulse keys create` (the archive's `api_keys` table in production).

    Raises `ArchiveUnavailableError` when the directory cannot be reached.
    """

    async def find(self, key_hash: str) -> StoredKey | None:
        """The key with this SHA-256 hash, revoked or not; None if there is none."""
        ...


@dataclass(frozen=True)
class UsageTotals:
    runs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)


class RunArchive(Protocol):
    """Run history: the archiver's `runs` / `steps` tables in production.

    Every method is scoped to one tenant and raises `ArchiveUnavailableError` when the
    archive cannot be reached.
    """

    async def list_runs(self, tenant: str, query: RunQuery) -> list[RunState]:
        """Up to `query.limit + 1` runs matching `query`, newest first (no steps or plan)."""
        ...

    async def get_run(self, tenant: str, run_id: str) -> RunState | None:
        """The archived run with its plan and steps; another tenant's run is None."""
        ...

    async def run_events(self, tenant: str, run_id: str) -> list[RunEvent]:
        """The run's archived events in `seq` order (the archiver's `events` table); empty
        for a run it does not hold and for another tenant's run."""
        ...

    async def usage(
        self, tenant: str, since: datetime | None, until: datetime | None
    ) -> UsageTotals: ...

    async def reachable(self) -> bool: ...


@dataclass(frozen=True)
class RecentRun:
    run_id: str
    tenant: str
    created_at: datetime
    prompt: str


class RecentRuns(Protocol):
    """Runs requested lately, whether or not the archive has them yet (the live part of a
    listing). In production every replica follows `pulse.runs.requested` for a window."""

    def recent(self, tenant: str) -> list[RecentRun]:
        """This tenant's runs requested inside the window, newest first."""
        ...

    def note(self, state: RunState) -> None:
        """A run this replica just submitted (so its own caller sees it at once)."""
        ...


@dataclass(frozen=True)
class FeedItem:
    event: RunEvent
    pending: int
    """Events of this run still to come after this one, as far as the stream holds them
    now (0: caught up)."""


class EventFeed(Protocol):
    initial_backlog: int
    """Events of the run the stream held when the feed opened."""

    async def next(self, timeout_s: float) -> FeedItem | None:
        """The next event, or None when none came within `timeout_s`."""
        ...


class RunEventSource(Protocol):
    """A run's events from the start, then live (an ordered consumer on PULSE_EVENTS
    filtered to `pulse.runs.events.<run_id>` in production)."""

    def follow(self, run_id: str) -> AbstractAsyncContextManager[EventFeed]: ...


class ToolCatalogue(Protocol):
    async def tools(self) -> list[ToolSpec]:
        """Every tool the agent-adapters published (KV `pulse_tools`), by name."""
        ...


class BusInspector(Protocol):
    async def consumers(self) -> list[ConsumerLag]:
        """Every durable in `subjects.Durable`, found or not."""
        ...

    async def reachable(self) -> bool: ...


class RunQueue(Protocol):
    async def waiting(self) -> int | None:
        """Run requests the planner has not taken yet; None when that cannot be told."""
        ...


class RateLimiter(Protocol):
    async def take(self, key_id: str) -> RateDecision:
        """Spend one request of this key's allowance (shared by every replica)."""
        ...
