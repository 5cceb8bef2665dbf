"""Run state in the `pulse_run_state` JetStream KV bucket; `RunRequested` onto PULSE_RUNS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from faststream.nats import NatsBroker
from nats import errors as nats_errors
from nats.js import errors as js_errors
from nats.js.kv import KeyValue

from pulse_broker import KvConflict, TypedKv, publish
from pulse_contracts import CancelRun, RestartRun, RunRequested, RunState, subjects
from pulse_gateway.adapters.ports import BusUnavailableError

__all__ = ["UNAVAILABLE", "KvRunStore", "NatsRunControlPublisher", "NatsRunRequestPublisher"]

# Failures that mean "NATS is not there right now", as opposed to a bug in the request.
UNAVAILABLE: Final = (
    nats_errors.TimeoutError,
    nats_errors.NoRespondersError,
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.ConnectionDrainingError,
    nats_errors.OutboundBufferLimitError,
    nats_errors.StaleConnectionError,
    js_errors.ServiceUnavailableError,
    asyncio.TimeoutError,
    ConnectionError,
)


def _require_connection(broker: NatsBroker, what: str) -> None:
    # While nats-py reconnects it buffers requests and each would wait out its timeout;
    # failing at once lets the client retry elsewhere or later.
    try:
        connected = broker.connection.is_connected
    except Exception:  # no connection object yet: the broker never connected
        connected = False
    if not connected:
        raise BusUnavailableError(f"NATS is not connected ({what})")


@asynccontextmanager
async def _unavailable_as_typed(what: str, run_id: str | None = None) -> AsyncIterator[None]:
    try:
        yield
    except UNAVAILABLE as exc:
        raise BusUnavailableError(
            f"NATS unavailable during {what}: {exc!r}", run_id=run_id
        ) from exc


class KvRunStore:
    def __init__(self, broker: NatsBroker, bucket: KeyValue) -> None:
        self._broker = broker
        self._bucket = bucket
        self._kv = TypedKv(bucket, RunState)

    async def create(self, state: RunState) -> bool:
        _require_connection(self._broker, "run state write")
        async with _unavailable_as_typed("run state write", state.run_id):
            try:
                await self._kv.create(state.run_id, state)
            except KvConflict:
                return False
        return True

    async def get(self, run_id: str) -> RunState | None:
        _require_connection(self._broker, "run state read")
        async with _unavailable_as_typed("run state read", run_id):
            try:
                found = await self._kv.get(run_id)
            except js_errors.KeyDeletedError:
                return None
        return None if found is None else found.value

    async def reachable(self) -> bool:
        try:
            _require_connection(self._broker, "readiness")
            await self._bucket.status()
        except (BusUnavailableError, *UNAVAILABLE):
            return False
        return True


class NatsRunRequestPublisher:
    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def publish(self, message: RunRequested) -> None:
        _require_connection(self._broker, "publish")
        async with _unavailable_as_typed("publish", message.run_id):
            await publish(
                self._broker, message, subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS
            )


class NatsRunControlPublisher:
    """Cancel and restart commands onto PULSE_RUNS, for the executor."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def publish(self, message: CancelRun | RestartRun) -> None:
        subject = subjects.RUNS_CANCEL if isinstance(message, CancelRun) else subjects.RUNS_RESTART
        _require_connection(self._broker, "publish")
        async with _unavailable_as_typed("publish", message.run_id):
            await publish(self._broker, message, subject, stream=subjects.STREAM_RUNS)
