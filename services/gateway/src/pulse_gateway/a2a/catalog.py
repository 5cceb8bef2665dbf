"""Every run of one tenant, for ListTasks.

Production scans the `pulse_run_state` bucket (one pass of an ordered consumer over the
latest value of every key), so a listing costs O(runs in the bucket); the in-memory
catalogue reads the in-memory run store.

The scan first takes the bucket's keys from the stream's subjects, then reads the watcher
until it has seen every one of them, rather than trusting the watcher's "initial values
delivered" marker alone: a key updated during the scan (the executor moving a run along)
loses its older message before the watcher reaches it, and its newer value comes later, so
the marker can arrive while runs are still missing from the listing.
"""

from __future__ import annotations

import asyncio
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

_SCAN_TIMEOUT_S = 10.0
_REMOVED = frozenset({"DEL", "PURGE"})


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

    async def _keys(self) -> set[str]:
        """The bucket's keys now (each subject `$KV.<bucket>.<key>` holding a message)."""
        prefix = f"$KV.{subjects.KV_RUN_STATE}."
        info = (
            await self._connection()
            .jetstream()
            .stream_info(f"KV_{subjects.KV_RUN_STATE}", subjects_filter=f"{prefix}>")
        )
        return {subject.removeprefix(prefix) for subject in (info.state.subjects or {})}

    async def runs_of(self, tenant: str) -> list[RunState]:
        try:
            bucket = await self._kv()
            unseen = await self._keys()
            # Deletes are watched too, so a deleted key counts as seen.
            watcher = await bucket.watchall()
        except (TimeoutError, ConnectionError) as exc:
            raise BusUnavailableError(f"cannot list runs: {exc!r}") from exc
        latest: dict[str, RunState] = {}
        marker = False
        try:
            async with asyncio.timeout(_SCAN_TIMEOUT_S):
                while unseen or not marker:
                    entry = await watcher.updates(None)  # type: ignore[no-untyped-call]
                    if entry is None:  # the watcher's "initial values delivered" marker
                        marker = True
                        continue
                    unseen.discard(entry.key)
                    if entry.operation in _REMOVED or entry.value is None:
                        latest.pop(entry.key, None)
                        continue
                    state = _state_of(entry.key, entry.value)
                    if state is not None and state.tenant == tenant:
                        latest[entry.key] = state
        except TimeoutError as exc:
            raise BusUnavailableError("listing runs did not finish in time") from exc
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return list(latest.values())


def _state_of(key: str, value: bytes) -> RunState | None:
    try:
        return RunState.model_validate_json(value)
    except ValidationError:
        log.warning("skipping run state %s that does not validate", key)
        return None


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
