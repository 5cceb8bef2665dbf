"""Knowing that nats-server has seen a subscription, which `Client.flush()` does not promise.

nats-py 2.16's `flush()` writes its PING straight to the socket while a SUB made just before
may still wait in the client's queue for the flusher task; the PONG can then come back before
the server knows the subscription, and a request from another connection finds no responders
(52 of 1500 tries under load on this machine). A request is queued behind the SUB instead,
so its answer proves the server has read both.
"""

from __future__ import annotations

import contextlib

from nats.aio.client import Client
from nats.errors import NoRespondersError

__all__ = ["JETSTREAM_INFO", "server_caught_up"]

JETSTREAM_INFO = "$JS.API.INFO"
"""Answered by the server itself, and every Pulse NATS user may publish to it (the chart
grants it to all): the one request that works under any service's permissions."""


async def server_caught_up(nc: Client, *, timeout_s: float = 5.0) -> None:
    """Return once the server has processed every command `nc` sent before this call."""
    # Without JetStream the server answers "no responders": an answer all the same.
    with contextlib.suppress(NoRespondersError):
        await nc.request(JETSTREAM_INFO, b"", timeout=timeout_s)
