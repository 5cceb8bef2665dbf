"""Starting and following runs straight on NATS, for systems that do not speak HTTP.

    async with PulseBus("nats://127.0.0.1:4222") as bus:
        run = await bus.publish_run("calculate 6 * 7", tenant="billing")
        async for event in bus.follow(run.run_id):
            print(event.type)

`publish_run` publishes a `RunRequested` on `pulse.runs.requested` with `Nats-Msg-Id`
(`run:<run_id>:requested`, so a resend within JetStream's duplicate window is dropped) and
a W3C `traceparent` (the caller's, or a new one), which the run's trace then continues.
No API key is involved: whoever may publish on that subject (NATS permissions) may start
runs for any tenant, so give that permission only to trusted systems.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final, Self

import nats
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import DeliverPolicy
from pydantic import ValidationError

from pulse_contracts import RUN_EVENT_ADAPTER, JsonValue, RunEvent, RunRequested, subjects

__all__ = ["PublishedRun", "PulseBus", "new_traceparent", "trace_id_of"]

_TERMINAL: Final = frozenset({"run.completed", "run.failed", "run.canceled", "run.rejected"})


def new_traceparent() -> str:
    """A fresh W3C trace context (version 00, sampled)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id_of(traceparent: str) -> str | None:
    parts = traceparent.split("-")
    ok = len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32
    return parts[1] if ok else None


@dataclass(frozen=True)
class PublishedRun:
    run_id: str
    trace_id: str | None
    """The run's trace: follow it in your tracing backend."""


class PulseBus:
    def __init__(self, nats_url: str, *, name: str = "pulse-client") -> None:
        self._url = nats_url
        self._name = name
        self._nc: Client | None = None

    async def __aenter__(self) -> Self:
        self._nc = await nats.connect(self._url, name=self._name, connect_timeout=5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    @property
    def _conn(self) -> Client:
        if self._nc is None:
            raise RuntimeError("use `async with PulseBus(url) as bus`")
        return self._nc

    async def publish_run(
        self,
        prompt: str,
        *,
        tenant: str = "default",
        run_id: str | None = None,
        metadata: dict[str, JsonValue] | None = None,
        idempotency_key: str | None = None,
        deadline_s: float | None = None,
        traceparent: str | None = None,
    ) -> PublishedRun:
        """Publish a `RunRequested` into PULSE_RUNS and wait for the stream's ack.

        Give a `run_id` (letters, digits, `-`, `_`) to make a retry of this call the same
        run; by default a new one is drawn.
        """
        traceparent = traceparent or new_traceparent()
        run_id = run_id or uuid.uuid4().hex
        request = RunRequested(
            message_id=f"run:{run_id}:requested",
            run_id=run_id,
            tenant=tenant,
            trace_id=trace_id_of(traceparent),
            prompt=prompt,
            metadata=metadata or {},
            idempotency_key=idempotency_key,
            deadline_s=deadline_s,
        )
        headers = {"Nats-Msg-Id": request.message_id, "traceparent": traceparent}
        await self._conn.jetstream().publish(
            subjects.RUNS_REQUESTED,
            request.model_dump_json().encode(),
            stream=subjects.STREAM_RUNS,
            headers=headers,
        )
        return PublishedRun(request.run_id, request.trace_id)

    async def follow(
        self, run_id: str, *, idle_timeout_s: float = 300.0
    ) -> AsyncIterator[RunEvent]:
        """The run's events from its first, then live, until its end (an ordered consumer
        on PULSE_EVENTS). Raises `TimeoutError` after `idle_timeout_s` without an event."""
        sub = await self._conn.jetstream().subscribe(
            subjects.run_events_subject(run_id),
            stream=subjects.STREAM_EVENTS,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=10.0,
        )
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=idle_timeout_s)
                except NatsTimeoutError:
                    raise TimeoutError(f"no event of run {run_id} for {idle_timeout_s}s") from None
                try:
                    event = RUN_EVENT_ADAPTER.validate_json(msg.data)
                except ValidationError:
                    continue
                yield event
                if event.type in _TERMINAL and msg.metadata.num_pending == 0:
                    return
        finally:
            await sub.unsubscribe()
