"""Usage documents in the JetStream KV bucket `pulse_llm_usage`, written behind.

Calls add records in memory; every `flush_every_s` the pending deltas are merged into the
stored documents with compare-and-set. Writing behind keeps the KV round trips off the
call path and merges many calls into one write; a replica killed between flushes loses at
most that interval of roll-up (budgets, which must never be lost, are written through).

A merge is one round trip when it can be: the ledger remembers the documents it wrote last
(value and revision, the most recent `remember` of them) and updates one of those against
its remembered revision without reading it first; a document it does not know (a new
run's, most of them) is created without a read. Only when that write loses — another
replica wrote in between, or the document exists already — does it read and retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict

from nats.js.kv import KeyValue

from pulse_agent_adapter.llm.accounting.usage import UsageDoc, UsageRecord, UsageRollup
from pulse_broker import KvConflict, Revisioned, TypedKv

__all__ = ["UsageLedger"]

log = logging.getLogger("pulse.agent_adapter")


class UsageLedger:
    def __init__(
        self, *, flush_every_s: float = 2.0, max_attempts: int = 32, remember: int = 1024
    ) -> None:
        self._rollup = UsageRollup()
        self._written: OrderedDict[str, Revisioned[UsageDoc]] = OrderedDict()
        self._remember = remember
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

    def _wrote(self, key: str, doc: UsageDoc, revision: int) -> None:
        self._written[key] = Revisioned(doc, revision)
        self._written.move_to_end(key)
        while len(self._written) > self._remember:
            self._written.popitem(last=False)

    async def _merge(self, docs: TypedKv[UsageDoc], key: str, delta: UsageDoc) -> None:
        # First try: what this ledger last wrote, or nothing — no read. Compare-and-set
        # still proves it current; a stale guess only costs the read it would have made.
        current = self._written.pop(key, None)
        for attempt in range(self._max_attempts):
            try:
                if current is None:
                    doc = delta
                    revision = await docs.create(key, doc)
                else:
                    doc = current.value.merged(delta)
                    revision = await docs.update(key, doc, current.revision)
            except KvConflict:
                if attempt:
                    await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
                current = await docs.get(key)
                continue
            self._wrote(key, doc, revision)
            return
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
