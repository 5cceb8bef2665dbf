"""Poison messages go to `PULSE_DLQ` with the reason; failing ones back off, then follow.

A message that does not validate is dead-lettered at once (redelivering it cannot help).
A handler that raises gets the message redelivered after a back-off delay, and once it has
been delivered `max_deliver` times it is dead-lettered too. Either way the consumer acks
the original and carries on, so one bad message never stalls or stops it. A message that
kills the process on every delivery never gets here: see `pulse_broker.exhausted`.
"""

from __future__ import annotations

import logging
from typing import Any

from faststream import BaseMiddleware
from faststream.message import StreamMessage
from faststream.nats import NatsBroker
from faststream.nats.message import NatsMessage  # the class: faststream.nats exports an alias
from nats.errors import NotJSMessageError
from pydantic import ValidationError

from pulse_broker.dlq_metrics import DeadLetterMetrics
from pulse_contracts import (
    DeadLettered,
    ErrorCode,
    ErrorInfo,
    PulseError,
    invalid_message_info,
    subjects,
)

__all__ = ["DeadLetterPolicy", "dead_letter_middleware", "letter_id", "store_letter"]

log = logging.getLogger(__name__)


class DeadLetterPolicy:
    def __init__(self, max_deliver: int, backoff_s: tuple[float, ...]) -> None:
        self.max_deliver = max_deliver
        self.backoff_s = backoff_s or (1.0,)

    def delay(self, delivered: int) -> float:
        return self.backoff_s[min(delivered, len(self.backoff_s)) - 1]


def _error_info(exc: BaseException) -> ErrorInfo:
    if isinstance(exc, PulseError):
        return exc.to_info()
    if isinstance(exc, ValidationError):
        return invalid_message_info(exc)
    return ErrorInfo(code=ErrorCode.INTERNAL, message=f"{type(exc).__name__}: {exc}"[:4000])


def letter_id(stream: str, sequence: int) -> str:
    """The letter's `Nats-Msg-Id`: one letter per stored message, whoever writes it."""
    return f"{stream}:{sequence}:dlq"


async def store_letter(
    broker: NatsBroker, letter: DeadLettered, metrics: DeadLetterMetrics | None = None
) -> bool:
    """Publish `letter` to `PULSE_DLQ`; False when JetStream already had it (a duplicate)."""
    ack = await broker.publish(
        letter.model_dump(mode="json"),
        subjects.dlq_subject(letter.consumer),
        headers={"Nats-Msg-Id": letter.message_id},
        stream=subjects.STREAM_DLQ,
    )
    duplicate = bool(getattr(ack, "duplicate", False))
    if metrics is not None and not duplicate:
        metrics.record(letter)
    return not duplicate


def dead_letter_middleware(
    policy: DeadLetterPolicy, metrics: DeadLetterMetrics | None = None
) -> type[BaseMiddleware]:
    class DeadLetterMiddleware(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
            try:
                return await call_next(msg)
            except Exception as exc:
                raw = msg.raw_message
                try:
                    metadata = raw.metadata
                except NotJSMessageError:  # core NATS (or the test broker): nothing to redeliver
                    raise exc from None
                delivered = int(metadata.num_delivered or 1)
                poison = isinstance(exc, ValidationError) or (
                    isinstance(exc, PulseError) and not exc.retryable
                )
                if not poison and delivered < policy.max_deliver:
                    delay = policy.delay(delivered)
                    log.warning(
                        "handler failed, redelivering in %.1fs (delivery %d of %d): %s",
                        delay,
                        delivered,
                        policy.max_deliver,
                        exc,
                    )
                    if isinstance(msg, NatsMessage):
                        await msg.nack(delay=delay)
                    else:  # pragma: no cover - only NATS brokers use this middleware
                        await msg.nack()
                    return None
                consumer = metadata.consumer or "unknown"
                letter = DeadLettered(
                    message_id=letter_id(metadata.stream, metadata.sequence.stream),
                    consumer=consumer,
                    original_subject=raw.subject,
                    error=_error_info(exc),
                    headers={k: v for k, v in (raw.headers or {}).items()},
                    payload=bytes(raw.data).decode("utf-8", errors="replace"),
                    deliveries=delivered,
                )
                log.error("dead-lettering message from %s: %s", raw.subject, letter.error.message)
                await store_letter(self.context.get("broker"), letter, metrics)
                return None

    return DeadLetterMiddleware
