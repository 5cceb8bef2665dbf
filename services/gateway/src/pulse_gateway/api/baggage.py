"""Baggage a caller sends is not Pulse's: it is dropped at the door.

Pulse uses W3C baggage for its own hops (`run_id`, `tenant`), and log lines fall back to it
when nothing is bound. A caller's `baggage` header would otherwise travel on every NATS hop
and could name another tenant in the logs of a request that binds none (listing runs).
The caller's `traceparent` is kept: its trace may continue into the run's.
"""

from __future__ import annotations

from opentelemetry import baggage
from opentelemetry import context as otel_context
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["DropClientBaggageMiddleware"]


class DropClientBaggageMiddleware:
    """Runs inside the OpenTelemetry middleware, which extracted the request's context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = otel_context.attach(baggage.clear())
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)
