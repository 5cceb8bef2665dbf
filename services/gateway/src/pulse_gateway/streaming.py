"""Following one run's events for SSE and WebSocket clients.

Everything the stream holds for the run is replayed first, then new events follow as they
are published; the stream ends after the run's terminal event once nothing more is pending
(a failed run that was restarted has events after its first `run.failed`). A client that
reconnects with the last seq it saw (`Last-Event-ID`) gets only what came after. Idle
streams carry a heartbeat, and no stream stays open longer than `max_s`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from pulse_contracts import RunEvent, RunState
from pulse_gateway.adapters.ports import RunEventSource
from pulse_gateway.control import RunNotFoundError
from pulse_gateway.domain import is_terminal_event
from pulse_gateway.history import RunHistory

__all__ = ["EventStream", "Heartbeat", "RunEventStreams"]

log = logging.getLogger(__name__)

# A run that ended but whose events the stream no longer holds (aged out): how long to
# wait for one anyway before ending the stream.
_EMPTY_GRACE_S: Final = 2.0


@dataclass(frozen=True)
class Heartbeat:
    """Nothing happened for a while; tell the client (and proxies) the stream is alive."""


@dataclass
class EventStream:
    run: RunState
    """The run as it was when the stream opened (the caller's own)."""
    after_seq: int
    finished: bool
    """The run ended and the client has seen its end: nothing will ever come (SSE 204)."""
    _source: RunEventSource
    _heartbeat_s: float
    _max_s: float

    async def items(self) -> AsyncIterator[RunEvent | Heartbeat]:
        if self.finished:
            return
        deadline = time.monotonic() + self._max_s
        async with self._source.follow(self.run.run_id) as feed:
            if self.run.status.is_terminal and feed.initial_backlog == 0:
                first = await feed.next(_EMPTY_GRACE_S)
                if first is None:
                    return
                pending_first = [first]
            else:
                pending_first = []
            while (remaining := deadline - time.monotonic()) > 0:
                item = (
                    pending_first.pop()
                    if pending_first
                    else await feed.next(min(self._heartbeat_s, remaining))
                )
                if item is None:
                    yield Heartbeat()
                    continue
                event = item.event
                if event.tenant != self.run.tenant:
                    log.warning("an event of another tenant on run %s's subject", event.run_id)
                    continue
                if event.seq > self.after_seq:
                    yield event
                if is_terminal_event(event) and item.pending == 0:
                    return


class RunEventStreams:
    def __init__(
        self,
        history: RunHistory,
        source: RunEventSource,
        *,
        heartbeat_s: float,
        max_s: float,
    ) -> None:
        self._history = history
        self._source = source
        self._heartbeat_s = heartbeat_s
        self._max_s = max_s

    async def open(self, *, tenant: str, run_id: str, after_seq: int = 0) -> EventStream:
        """Check the run is the caller's (else `RunNotFoundError`, as for a missing one)
        before anything is streamed."""
        state = await self._history.find(tenant=tenant, run_id=run_id)
        if state is None:
            raise RunNotFoundError("no such run", run_id=run_id)
        finished = state.status.is_terminal and after_seq >= state.seq
        return EventStream(state, after_seq, finished, self._source, self._heartbeat_s, self._max_s)
