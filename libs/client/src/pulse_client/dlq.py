"""Dead letters in `PULSE_DLQ`, straight from NATS: list, inspect, replay, purge.

A letter's id is its sequence number in the `PULSE_DLQ` stream. Replaying republishes the
original payload with the original headers to the original subject and then deletes the
letter; should the message fail again, it comes back as a new letter with a new id.

    async with DeadLetters("nats://127.0.0.1:4222") as dlq:
        for stored in await dlq.letters(consumer="planner"):
            print(stored.id, stored.letter.error.code)
        await dlq.replay(7)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Self

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import APIError, NotFoundError
from pydantic import ValidationError

from pulse_contracts import DeadLettered, ErrorCode, ErrorInfo, JsonValue, subjects

__all__ = [
    "REPLAYED_FROM_HEADER",
    "DeadLetterNotFound",
    "DeadLetters",
    "LetterNotReplayable",
    "Replayed",
    "StoredLetter",
    "replay_headers",
]

_NO_MESSAGE_FOUND = 10057  # JetStream's err_code when deleting a sequence that is not there

REPLAYED_FROM_HEADER = "Pulse-Replayed-From"
"""Set on a replayed message: `PULSE_DLQ:<letter id>` it came from."""


class DeadLetterNotFound(LookupError):
    def __init__(self, letter_id: int) -> None:
        super().__init__(f"no dead letter with id {letter_id} in {subjects.STREAM_DLQ}")
        self.letter_id = letter_id


class LetterNotReplayable(ValueError):
    """The letter does not say where its message came from, so it cannot be sent back."""


@dataclass(frozen=True)
class StoredLetter:
    id: int
    """The letter's sequence number in `PULSE_DLQ`."""
    stored_at: datetime | None
    letter: DeadLettered

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "id": self.id,
            "stored_at": self.stored_at.isoformat() if self.stored_at else None,
            **self.letter.model_dump(mode="json"),
        }


@dataclass(frozen=True)
class Replayed:
    id: int
    """The letter that was replayed (now deleted)."""
    subject: str
    stream: str
    sequence: int
    """Where the republished message landed."""
    replay_id: str
    """Its `Nats-Msg-Id`; replaying the same letter again within the window is a no-op."""
    duplicate: bool

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "id": self.id,
            "subject": self.subject,
            "stream": self.stream,
            "sequence": self.sequence,
            "replay_id": self.replay_id,
            "duplicate": self.duplicate,
        }


def _stored(raw: RawStreamMsg) -> StoredLetter:
    seq = raw.seq or 0
    data = raw.data or b""
    try:
        letter = DeadLettered.model_validate_json(data)
    except ValidationError as exc:
        # Someone else published on pulse.dlq.*: show it, but it cannot be replayed.
        subject = raw.subject or ""
        letter = DeadLettered(
            message_id=f"{subjects.STREAM_DLQ}:{seq}",
            consumer=subject.removeprefix(f"{subjects.DLQ_PREFIX}."),
            original_subject="",
            error=ErrorInfo(
                code=ErrorCode.INVALID_MESSAGE,
                message=f"not a DeadLettered document: {exc.errors()[0]['msg']}",
            ),
            payload=data.decode("utf-8", errors="replace"),
        )
    return StoredLetter(id=seq, stored_at=raw.time, letter=letter)


def replay_headers(letter: DeadLettered, letter_id: int) -> dict[str, str]:
    """The headers a replayed message is sent with."""
    # Headers the server interprets (Nats-Msg-Id, Nats-Expected-*, ...) would get the replay
    # dropped as a duplicate or refused; the rest (traceparent, baggage, ...) travel as sent.
    headers = {k: v for k, v in letter.headers.items() if not k.lower().startswith("nats-")}
    headers["Nats-Msg-Id"] = f"{subjects.STREAM_DLQ}:{letter_id}:replay"
    headers[REPLAYED_FROM_HEADER] = f"{subjects.STREAM_DLQ}:{letter_id}"
    return headers


class DeadLetters:
    """The dead-letter queue over one NATS connection (opened by `async with` or `connect`)."""

    def __init__(self, nats_url: str, *, timeout_s: float = 5.0) -> None:
        self._servers = [s.strip() for s in nats_url.split(",") if s.strip()]
        self._timeout_s = timeout_s
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    async def connect(self) -> None:
        async def quiet(exc: Exception) -> None:
            # nats-py prints a traceback per failed attempt; the caller gets the exception.
            pass

        self._nc = await nats.connect(
            self._servers,
            connect_timeout=self._timeout_s,
            error_cb=quiet,
            allow_reconnect=False,
            max_reconnect_attempts=1,  # 0 would mean "retry forever" inside nats-py
            reconnect_time_wait=0.2,
        )
        self._js = self._nc.jetstream(timeout=self._timeout_s)

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()
        self._nc = self._js = None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("DeadLetters is not connected: use `async with` or connect()")
        return self._js

    async def counts(self) -> dict[str, int]:
        """Letters per consumer (the `<consumer>` of `pulse.dlq.<consumer>`)."""
        try:
            info = await self._jetstream.stream_info(
                subjects.STREAM_DLQ, subjects_filter=subjects.DLQ_WILDCARD
            )
        except NotFoundError:
            return {}
        prefix = f"{subjects.DLQ_PREFIX}."
        return {s.removeprefix(prefix): n for s, n in sorted((info.state.subjects or {}).items())}

    async def letters(
        self, *, consumer: str | None = None, limit: int = 50, after: int = 0
    ) -> list[StoredLetter]:
        """Up to `limit` letters with an id above `after`, oldest first, of one or every consumer."""
        subject = subjects.dlq_subject(consumer) if consumer else subjects.DLQ_WILDCARD
        found: list[StoredLetter] = []
        seq = after + 1
        while len(found) < limit:
            try:
                raw = await self._jetstream.get_msg(
                    subjects.STREAM_DLQ, seq=seq, subject=subject, next=True
                )
            except NotFoundError:  # no more letters (or no DLQ stream at all)
                break
            found.append(_stored(raw))
            seq = (raw.seq or seq) + 1
        return found

    async def get(self, letter_id: int) -> StoredLetter:
        try:
            raw = await self._jetstream.get_msg(subjects.STREAM_DLQ, letter_id)
        except NotFoundError:
            raise DeadLetterNotFound(letter_id) from None
        return _stored(raw)

    async def replay(self, letter_id: int) -> Replayed:
        """Send the letter's message back to its subject, then delete the letter."""
        letter = (await self.get(letter_id)).letter
        if not letter.original_subject:
            raise LetterNotReplayable(f"letter {letter_id} does not name its original subject")
        headers = replay_headers(letter, letter_id)
        ack = await self._jetstream.publish(
            letter.original_subject, letter.payload.encode(), headers=headers
        )
        await self._delete(letter_id, missing_ok=True)  # purged meanwhile: the replay stands
        return Replayed(
            id=letter_id,
            subject=letter.original_subject,
            stream=ack.stream,
            sequence=ack.seq,
            replay_id=headers["Nats-Msg-Id"],
            duplicate=bool(ack.duplicate),
        )

    async def purge(self, letter_id: int) -> None:
        """Delete one letter for good."""
        await self._delete(letter_id, missing_ok=False)

    async def _delete(self, letter_id: int, *, missing_ok: bool) -> None:
        try:
            await self._jetstream.delete_msg(subjects.STREAM_DLQ, letter_id)
        except APIError as exc:
            missing = isinstance(exc, NotFoundError) or exc.err_code == _NO_MESSAGE_FOUND
            if not missing:
                raise
            if not missing_ok:
                raise DeadLetterNotFound(letter_id) from None
