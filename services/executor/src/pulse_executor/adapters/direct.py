"""Publishing straight on the broker's NATS connection, with one producer span per message.

FastStream's publish path wraps every message in two spans (`<subject> create` and
`<subject> publish`), Prometheus timings and its middleware chain; for the executor, which
publishes about a dozen messages per run, that chain cost more than the publishes. Here a
message gets only what the run's trace needs: one `<subject> create` span (kind PRODUCER,
the parent of the consumer's `process` span, as FastStream's would be), its W3C
`traceparent`, the run's `baggage`, and `Nats-Msg-Id`; the JetStream PubAck is awaited as
before, so a failed publish still fails the message.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck
from opentelemetry import baggage, context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.trace import SpanKind, Tracer

from pulse_contracts import Message
from pulse_telemetry.context import ATTR_STEP_ID

__all__ = ["DirectSend", "producer_headers"]

_BAGGAGE = W3CBaggagePropagator()


@functools.lru_cache(maxsize=4096)
def _encoded_baggage(entries: tuple[tuple[str, str], ...]) -> str | None:
    """The `baggage` header of these entries; the same few per run, so computed once."""
    ctx = context.Context()
    for key, value in entries:
        ctx = baggage.set_baggage(key, value, context=ctx)
    carrier: dict[str, str] = {}
    _BAGGAGE.inject(carrier, ctx)
    return carrier.get("baggage")


def _baggage_header() -> str | None:
    entries = baggage.get_all()
    if not entries:
        return None
    return _encoded_baggage(tuple((str(k), str(v)) for k, v in entries.items()))


def producer_headers(
    tracer: Tracer, message: Message, subject: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Headers of `message` on `subject`: a `<subject> create` span in the current context
    (ended at once: it marks the hand-off), its trace context, the baggage, the message id."""
    attributes: dict[str, str] = {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.message.id": message.message_id,
    }
    step_id = getattr(message, "step_id", None)
    if isinstance(step_id, str):
        attributes[ATTR_STEP_ID] = step_id
    span = tracer.start_span(f"{subject} create", kind=SpanKind.PRODUCER, attributes=attributes)
    span.end()
    headers: dict[str, str] = dict(extra or {})
    span_context = span.get_span_context()
    if span_context.is_valid:
        # The W3C trace-context format: version 00, trace id, span id, flags.
        headers["traceparent"] = (
            f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
            f"-{int(span_context.trace_flags):02x}"
        )
        if span_context.trace_state:
            headers["tracestate"] = span_context.trace_state.to_header()
    encoded = _baggage_header()
    if encoded:
        headers["baggage"] = encoded
    headers["Nats-Msg-Id"] = message.message_id
    return headers


class DirectSend:
    """A `Send` (the shape of `pulse_broker.publish`) that bypasses FastStream's publisher."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._js: tuple[Client, JetStreamContext] | None = None

    def jetstream(self, broker: NatsBroker) -> JetStreamContext:
        """The JetStream context of the broker's current connection (a restarted broker
        has a new one)."""
        connection = broker.connection
        if self._js is None or self._js[0] is not connection:
            self._js = (connection, connection.jetstream())
        return self._js[1]

    async def __call__(
        self,
        broker: NatsBroker,
        message: Message,
        subject: str,
        *,
        stream: str,
        headers: dict[str, str] | None = None,
    ) -> PubAck:
        all_headers = producer_headers(self._tracer, message, subject, headers)
        payload = message.model_dump_json().encode()
        return await self.jetstream(broker).publish(
            subject, payload, stream=stream, headers=all_headers
        )

    async def core(self, broker: NatsBroker, message: Message, subject: str) -> None:
        """Core NATS, no stream and no ack (a broadcast whose loss costs little)."""
        headers = producer_headers(self._tracer, message, subject)
        await broker.connection.publish(
            subject, message.model_dump_json().encode(), headers=headers
        )
