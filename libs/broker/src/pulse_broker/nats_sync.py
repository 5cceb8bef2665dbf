"""Knowing that nats-server has seen a subscription, which `Client.flush()` does not promise.

nats-py 2.16's `flush()` writes its PING straight to the socket while a SUB made just before
may still wait in the client's queue for the flusher task; the PONG can then come back before
the server knows the subscription, and a request from another connection finds no responders
(seen about once in 300 tries on this machine). A message this connection sends to itself is
queued behind the SUB, so its echo proves the server has processed both.
"""

from __future__ import annotations

from nats.aio.client import Client

__all__ = ["server_caught_up"]


async def server_caught_up(nc: Client, *, timeout_s: float = 5.0) -> None:
    """Return once the server has processed every command `nc` sent before this call.

    Needs echo, nats-py's default (a connection made with `no_echo=True` never hears itself
    and times out here)."""
    inbox = nc.new_inbox()
    probe = await nc.subscribe(inbox)
    try:
        await nc.publish(inbox, b"")
        await probe.next_msg(timeout=timeout_s)
    finally:
        await probe.unsubscribe()
