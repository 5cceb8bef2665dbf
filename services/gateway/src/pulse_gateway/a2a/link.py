"""The gateway parts the A2A layer works through, looked up when a call needs them.

Submitting, canceling and following runs go through the gateway's own `RunIntake`,
`RunControl` and `RunEventStreams` (the code paths of `POST /v1/runs`,
`POST /v1/runs/{id}/cancel` and `GET /v1/runs/{id}/events`). The lifespan fills them in
once NATS is connected, so they are read per call, never captured at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from a2a.types import InternalError

from pulse_gateway.a2a.catalog import RunCatalog
from pulse_gateway.adapters.ports import BusUnavailableError, RunStore
from pulse_gateway.api.deps import GatewayState
from pulse_gateway.control import RunControl
from pulse_gateway.intake import RunIntake
from pulse_gateway.streaming import RunEventStreams

__all__ = ["PulseLink", "reachable_or_internal_error"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def _connected(part: T | None) -> T:
    if part is None:
        raise BusUnavailableError("the gateway is still connecting to NATS")
    return part


@dataclass
class PulseLink:
    gateway: GatewayState
    catalog: RunCatalog
    cancel_wait_s: float = 10.0
    """How long CancelTask waits for the executor to end the run before answering."""
    _recording: dict[str, asyncio.Event] = field(default_factory=dict)

    @asynccontextmanager
    async def recording(self, run_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set once the SDK has recorded a new task's first state (`noted`).

        The SDK records a task only if the store does not know it yet; submitting the run
        (whose state the store reads) before that would have it discard its own task.
        """
        recorded = self._recording.setdefault(run_id, asyncio.Event())
        try:
            yield recorded
        finally:
            self._recording.pop(run_id, None)

    def noted(self, run_id: str) -> None:
        recorded = self._recording.get(run_id)
        if recorded is not None:
            recorded.set()

    def intake(self) -> RunIntake:
        return _connected(self.gateway.intake)

    def control(self) -> RunControl:
        return _connected(self.gateway.control)

    def streams(self) -> RunEventStreams:
        return _connected(self.gateway.streams)

    def store(self) -> RunStore:
        return _connected(self.gateway.store)


@contextmanager
def reachable_or_internal_error() -> Iterator[None]:
    """NATS trouble as the A2A error clients expect, without the internals in it."""
    try:
        yield
    except BusUnavailableError as exc:
        log.warning("A2A call failed: %s", exc)
        raise InternalError(message="Pulse cannot be reached right now; retry shortly.") from exc
