"""Usage documents in the JetStream KV bucket `pulse_llm_usage`, written behind.

Calls add records in memory; every `flush_every_s` the pending deltas are merged into the
stored documents with compare-and-set. Writing behind keeps the KV round trips off the
call path and merges many calls into one write; a replica killed between flushes loses at
most that interval of roll-up (budgets, which must never be lost, are written through).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from nats.js.kv import KeyValue

from pulse_agent_adapter.llm.accounting.usage import UsageDoc, UsageRecord, UsageRollup
from pulse_broker import KvConflict, TypedKv

__all__ = ["UsageLedger"]

log = logging.getLogger("pulse.agent_adapter")


class UsageLedger:
    def __init__(self, *, flush_every_s: float = 2.0, max_attempts: int = 32) -> None:
        self._rollup = UsageRollup()
        self._docs: TypedKv[UsageDoc] | None = None
        self._every_s = flush_every_s
        self._max_attempts = max_attempts
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def bind(self, kv: KeyValue) -> None:
        self._docs = TypedKv(kv, UsageDoc)

    def record(self, record: UsageRecord) -> None:
        self._rollup.add(record)

    async def read(self, kind: str, key_token: str) -> UsageDoc | None:
        if self._docs is None:
            return None
        current = await self._docs.get(f"{kind}.{key_token}")
        return current.value if current is not None else None

    async def flush(self) -> None:
        if self._docs is None:
            return
        async with self._lock:
            deltas = self._rollup.drain()
            failed: dict[str, UsageDoc] = {}
            for key, delta in deltas.items():
                try:
                    await self._merge(self._docs, key, delta)
                except Exception as exc:  # keep it for the next flush; usage is not lost
                    log.warning("usage roll-up %s not written yet: %s", key, exc)
                    failed[key] = delta
            self._rollup.restore(failed)

    async def _merge(self, docs: TypedKv[UsageDoc], key: str, delta: UsageDoc) -> None:
        for attempt in range(self._max_attempts):
            current = await docs.get(key)
            try:
                if current is None:
                    await docs.create(key, delta)
                else:
                    await docs.update(key, current.value.merged(delta), current.revision)
                return
            except KvConflict:
                await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        raise KvConflict(key)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="usage-ledger")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
