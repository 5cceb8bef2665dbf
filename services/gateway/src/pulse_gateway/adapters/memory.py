"""In-process run store and publisher, for tests and for running the API without NATS."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulse_contracts import CancelRun, RestartRun, RunRequested, RunState
from pulse_gateway.adapters.ports import BusUnavailableError
from pulse_telemetry import inject_headers

__all__ = [
    "InMemoryRunControlPublisher",
    "InMemoryRunPublisher",
    "InMemoryRunStore",
    "PublishedRequest",
]


class InMemoryRunStore:
    def __init__(self) -> None:
        self.runs: dict[str, RunState] = {}
        self.available = True
        """Set False to behave like an unreachable NATS."""

    def _check(self) -> None:
        if not self.available:
            raise BusUnavailableError("run store is unavailable")

    async def create(self, state: RunState) -> bool:
        self._check()
        if state.run_id in self.runs:
            return False
        self.runs[state.run_id] = state.model_copy(deep=True)
        return True

    async def get(self, run_id: str) -> RunState | None:
        self._check()
        state = self.runs.get(run_id)
        return None if state is None else state.model_copy(deep=True)

    async def reachable(self) -> bool:
        return self.available


@dataclass(frozen=True)
class PublishedRequest:
    message: RunRequested
    headers: dict[str, str]


@dataclass
class InMemoryRunPublisher:
    """Keeps what was published; drops a repeated message id like JetStream's dedupe."""

    published: list[PublishedRequest] = field(default_factory=list)
    available: bool = True
    attempts: int = 0

    async def publish(self, message: RunRequested) -> None:
        self.attempts += 1
        if not self.available:
            raise BusUnavailableError("publisher is unavailable", run_id=message.run_id)
        if any(p.message.message_id == message.message_id for p in self.published):
            return
        self.published.append(PublishedRequest(message, inject_headers()))


@dataclass
class InMemoryRunControlPublisher:
    """Keeps the cancel and restart commands; drops a repeated message id like JetStream."""

    published: list[CancelRun | RestartRun] = field(default_factory=list)
    available: bool = True

    async def publish(self, message: CancelRun | RestartRun) -> None:
        if not self.available:
            raise BusUnavailableError("publisher is unavailable", run_id=message.run_id)
        if all(p.message_id != message.message_id for p in self.published):
            self.published.append(message)
