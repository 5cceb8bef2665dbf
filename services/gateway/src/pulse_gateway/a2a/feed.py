"""A run's events, replayed from its first and then live, for A2A streams.

They come from the gateway's `RunEventStreams` — the same replay-then-follow its SSE and
WebSocket endpoints serve (an ordered consumer on `pulse.runs.events.<run_id>`) — minus
the heartbeats, and with each `seq` once: crash recovery can publish an event again after
JetStream's duplicate window.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from pulse_contracts import RunEvent
from pulse_gateway.streaming import Heartbeat, RunEventStreams

__all__ = ["run_events"]


async def run_events(
    streams: RunEventStreams, *, tenant: str, run_id: str
) -> AsyncGenerator[RunEvent, None]:
    """The run's events from its first on; ends after its terminal event (or when the
    stream's time limit runs out). Raises `RunNotFoundError` for another tenant's run."""
    stream = await streams.open(tenant=tenant, run_id=run_id)
    seen: set[int] = set()
    async for item in stream.items():
        if isinstance(item, Heartbeat) or item.seq in seen:
            continue
        seen.add(item.seq)
        yield item
