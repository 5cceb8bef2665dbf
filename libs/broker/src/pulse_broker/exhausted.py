"""The server-side backstop: dead-letter what JetStream stopped redelivering.

The dead-letter middleware only runs when the handler returns or raises. A message that
kills the process (or hangs it past `ack_wait`) on every delivery never reaches it: once the
consumer's `max_deliver` is used up, JetStream stops redelivering, leaves the message in the
stream and publishes a max-deliveries advisory. Every `PulseBroker` listens to those
advisories from its `start()`, before its consumers pull, and for its own durable consumers
fetches the message by stream sequence and stores a `DeadLettered` with
`max_deliveries_exceeded`.

Every replica of a service sees the advisory. The letter's `Nats-Msg-Id` is derived from the
stream and sequence (as the middleware does), so JetStream stores it once. In a work-queue
stream, or an interest stream this consumer alone reads, the message is then deleted: it
would otherwise stay there forever, since no consumer will ever ack it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import ConsumerConfig, RawStreamMsg, RetentionPolicy
from nats.js.errors import NotFoundError
from pydantic import BaseModel, ConfigDict, ValidationError

from pulse_broker.dead_letter import letter_id, store_letter
from pulse_broker.dlq_metrics import DeadLetterMetrics
from pulse_contracts import DeadLettered, ErrorCode, ErrorInfo

__all__ = [
    "MAX_DELIVERIES_ADVISORIES",
    "ExhaustedDeliveries",
    "MaxDeliveriesAdvisory",
    "dead_letter_exhausted",
    "durable_consumers",
    "exhausted_letter",
]

log = logging.getLogger(__name__)

# A NATS server subject (its tokens after this are <stream>.<consumer>), not a Pulse one.
MAX_DELIVERIES_ADVISORIES = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.*.*"

_RETRY_PAUSES_S = (0.5, 2.0, 5.0)


class MaxDeliveriesAdvisory(BaseModel):
    """The part of `io.nats.jetstream.advisory.v1.max_deliver` that the backstop reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    stream: str
    consumer: str
    stream_seq: int
    deliveries: int


def durable_consumers(broker: NatsBroker) -> set[tuple[str, str]]:
    """(stream, durable) of every JetStream subscriber registered on `broker`."""
    found: set[tuple[str, str]] = set()
    for subscriber in broker.subscribers:
        stream = getattr(getattr(subscriber, "stream", None), "name", None)
        config = getattr(subscriber, "config", None)
        if isinstance(stream, str) and isinstance(config, ConsumerConfig) and config.durable_name:
            found.add((stream, config.durable_name))
    return found


def _owner(payload: str) -> tuple[str | None, str | None]:
    """The run and step a message belongs to, when its body says so (it may not even parse)."""
    try:
        body = json.loads(payload)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    run_id, step_id = body.get("run_id"), body.get("step_id")
    return (
        run_id if isinstance(run_id, str) else None,
        step_id if isinstance(step_id, str) else None,
    )


def exhausted_letter(advisory: MaxDeliveriesAdvisory, original: RawStreamMsg) -> DeadLettered:
    """The letter for a message JetStream gave up on, as the middleware would have written it."""
    payload = bytes(original.data or b"").decode("utf-8", errors="replace")
    run_id, step_id = _owner(payload)
    return DeadLettered(
        message_id=letter_id(advisory.stream, advisory.stream_seq),
        consumer=advisory.consumer,
        original_subject=original.subject or "",
        error=ErrorInfo(
            code=ErrorCode.MAX_DELIVERIES_EXCEEDED,
            message=(
                f"delivered {advisory.deliveries} times to {advisory.consumer} without an ack "
                "or a handled failure: the consumer crashed or hung on every delivery"
            ),
            run_id=run_id,
            step_id=step_id,
        ),
        headers={str(k): str(v) for k, v in (original.headers or {}).items()},
        payload=payload,
        deliveries=advisory.deliveries,
    )


async def _release(broker: NatsBroker, advisory: MaxDeliveriesAdvisory) -> None:
    """Delete the message where nothing else would ever remove it."""
    js = broker.connection.jetstream()
    info = await js.stream_info(advisory.stream)
    retention = RetentionPolicy(info.config.retention)  # nats-py leaves the raw string here
    alone = info.state.consumer_count <= 1
    if retention is RetentionPolicy.WORK_QUEUE or (retention is RetentionPolicy.INTEREST and alone):
        # Another replica may have deleted it first.
        with contextlib.suppress(NotFoundError):
            await js.delete_msg(advisory.stream, advisory.stream_seq)


async def dead_letter_exhausted(
    broker: NatsBroker, advisory: MaxDeliveriesAdvisory, metrics: DeadLetterMetrics | None
) -> DeadLettered | None:
    """Store the letter for `advisory` and release the message; None if it is already gone."""
    js = broker.connection.jetstream()
    try:
        original = await js.get_msg(advisory.stream, advisory.stream_seq)
    except NotFoundError:
        # Acked at the last moment, removed by a limit, or released by another replica
        # (which stored the letter first).
        log.info(
            "max deliveries for %s/%s seq %d, but the message is gone",
            advisory.stream,
            advisory.consumer,
            advisory.stream_seq,
        )
        return None
    letter = exhausted_letter(advisory, original)
    log.error(
        "dead-lettering message %s seq %d from %s: %s",
        advisory.stream,
        advisory.stream_seq,
        letter.original_subject,
        letter.error.message,
    )
    await store_letter(broker, letter, metrics)
    await _release(broker, advisory)
    return letter


class ExhaustedDeliveries:
    """Dead-letters what JetStream gave up on, for the durable consumers of one broker.

    A plain nats-py subscription rather than a FastStream subscriber: it must exist before
    any of the broker's pull consumers asks for messages (JetStream advises once, in answer
    to a pull), and FastStream starts its subscribers in no particular order.
    """

    def __init__(self, broker: NatsBroker, metrics: DeadLetterMetrics | None) -> None:
        self._broker = broker
        self._metrics = metrics
        self._subscription: Subscription | None = None

    async def start(self, connection: Client) -> None:
        if self._subscription is None:
            self._subscription = await connection.subscribe(
                MAX_DELIVERIES_ADVISORIES, cb=self._on_advisory
            )

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):  # the connection may be closing already
                await subscription.unsubscribe()

    async def _on_advisory(self, msg: Msg) -> None:
        try:
            advisory = MaxDeliveriesAdvisory.model_validate_json(msg.data)
        except ValidationError:
            log.warning("ignoring a max-deliveries advisory that does not parse: %r", msg.data)
            return
        # Owners are looked up now: handlers may be registered after the broker was built.
        if (advisory.stream, advisory.consumer) not in durable_consumers(self._broker):
            return
        # The advisory is sent once and never redelivered: ride out a short NATS hiccup.
        for pause in (*_RETRY_PAUSES_S, None):
            try:
                await dead_letter_exhausted(self._broker, advisory, self._metrics)
                return
            except Exception:
                if pause is None:
                    log.exception("could not dead-letter %s; the message stays put", advisory)
                    return
                log.warning("dead-lettering %s failed, retrying", advisory, exc_info=True)
                await asyncio.sleep(pause)
