"""W3C baggage of a consumed message, in the OpenTelemetry context while it is handled.

FastStream's telemetry middleware continues the publisher's `traceparent` but keeps the
`baggage` header to itself, so without this the handler would not see the run id and
tenant the previous hop sent: log lines written before the handler binds its run (a
message that does not validate, a redelivery) would lack them, and so would the messages
it publishes. Publishing needs nothing extra: `pulse_telemetry.inject_headers` writes the
baggage of the current context.
"""

from __future__ import annotations

from typing import Any

from faststream import BaseMiddleware
from faststream.message import StreamMessage
from opentelemetry import context as otel_context

from pulse_telemetry import extract_baggage

__all__ = ["BaggageMiddleware"]


class BaggageMiddleware(BaseMiddleware):
    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        headers = {str(k): str(v) for k, v in (msg.headers or {}).items()}
        token = otel_context.attach(extract_baggage(headers))
        try:
            return await call_next(msg)
        finally:
            otel_context.detach(token)
