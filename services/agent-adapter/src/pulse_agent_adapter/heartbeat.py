"""Telling JetStream a long task is still being worked on.

A dispatched task is acknowledged only when its result is published. A tool that runs
longer than the consumer's ack wait would otherwise be delivered again to another worker
and run twice; `msg.in_progress()` resets the ack-wait clock while the tool runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from faststream.nats import NatsMessage

__all__ = ["heartbeat_interval", "keep_alive"]

log = logging.getLogger("pulse.agent_adapter")


def heartbeat_interval(ack_wait_s: float) -> float:
    """Every few seconds, and at least three times per ack wait."""
    return max(0.2, min(5.0, ack_wait_s / 3))


@contextlib.asynccontextmanager
async def keep_alive(msg: NatsMessage, every_s: float) -> AsyncIterator[None]:
    """Send `in_progress` every `every_s` seconds while the body runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await msg.in_progress()
            except Exception:  # a lost heartbeat only risks a redelivery, never the task
                log.debug("in-progress heartbeat not sent", exc_info=True)

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
