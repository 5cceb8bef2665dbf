"""Publishing a contract message: JSON body, `Nats-Msg-Id` from its id, trace context."""

from __future__ import annotations

from faststream.nats import NatsBroker
from nats.js.api import PubAck

from pulse_contracts import Message
from pulse_telemetry import inject_headers

__all__ = ["publish"]


async def publish(
    broker: NatsBroker,
    message: Message,
    subject: str,
    *,
    stream: str,
    headers: dict[str, str] | None = None,
) -> PubAck:
    """Publish to a stream and wait for its ack.

    The message id goes into `Nats-Msg-Id`, so a resend inside the stream's duplicate
    window is acknowledged as a duplicate and not stored twice. Trace context and baggage
    of the current span travel in the headers.
    """
    all_headers = inject_headers(headers)
    all_headers["Nats-Msg-Id"] = message.message_id
    ack = await broker.publish(
        message.model_dump_json().encode(),
        subject,
        headers=all_headers,
        stream=stream,
    )
    if ack is None:  # pragma: no cover - only without a stream
        raise RuntimeError(f"no publish ack from stream {stream} for {subject}")
    return ack
