"""Every run of one tenant, for ListTasks.

Production scans the `pulse_run_state` bucket (one pass of an ordered consumer over the
latest value of every key), so a listing costs O(runs in the bucket); the in-memory
catalogue reads the in-memory run store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from nats.aio.client import Client as NatsClient
from nats.js.kv import KeyValue
from pydantic import ValidationError

from pulse_contracts import RunState, subjects
from pulse_gateway.adapters import InMemoryRunStore
from pulse_gateway.adapters.ports import BusUnavailableError, RunStore

__all__ = ["InMemoryRunCatalog", "KvRunCatalog", "RunCatalog"]

log = logging.getLogger(__name__)


class RunCatalog(Protocol):
    async def runs_of(self, tenant: str) -> list[RunState]:
        """Every run of `tenant`, in no particular order; raises `BusUnavailableError`."""
        ...


class KvRunCatalog:
    def __init__(self, connection: Callable[[], NatsClient]) -> None:
        self._connection = connection
        self._bucket: KeyValue | None = None

    async def _kv(self) -> KeyValue:
        if self._bucket is None:
            try:
                client = self._connection()
                connected = client.is_connected
            except Exception:  # no connection object yet: the broker never connected
                connected = False
            if not connected:
                raise BusUnavailableError("NATS is not connected (run listing)")
            self._bucket = await client.jetstream().key_value(subjects.KV_RUN_STATE)
        return self._bucket

    async def runs_of(self, tenant: str) -> list[RunState]:
        try:
            watcher = await (await self._kv()).watchall(ignore_deletes=True)
        except (TimeoutError, ConnectionError) as exc:
            raise BusUnavailableError(f"cannot list runs: {exc!r}") from exc
        runs: list[RunState] = []
        try:
            async for entry in watcher:
                if entry is None:  # the watcher's "every current value was delivered"
                    break
                if entry.value is None:
                    continue
                try:
                    state = RunState.model_validate_json(entry.value)
                except ValidationError:
                    log.warning("skipping run state %s that does not validate", entry.key)
                    continue
                if state.tenant == tenant:
                    runs.append(state)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return runs


class InMemoryRunCatalog:
    def __init__(self, store: Callable[[], RunStore | None]) -> None:
        self._store = store

    async def runs_of(self, tenant: str) -> list[RunState]:
        store = self._store()
        if not isinstance(store, InMemoryRunStore) or not store.available:
            raise BusUnavailableError("the in-memory run store is unavailable")
        return [
            state.model_copy(deep=True) for state in store.runs.values() if state.tenant == tenant
        ]
