"""An in-process `RunStore` with the KV bucket's compare-and-set semantics, for tests."""

from __future__ import annotations

import asyncio

from pulse_broker import KvConflict, Revisioned
from pulse_executor.domain import ExecutorRunState

__all__ = ["InMemoryRunStore"]


class InMemoryRunStore:
    """Documents are kept serialised, like in the bucket, so nothing is shared by reference.

    Revisions come from one counter across keys, as JetStream's stream sequence does. Every
    call yields to the event loop first, so concurrent handlers really interleave.
    """

    def __init__(self) -> None:
        self._docs: dict[str, tuple[str, int]] = {}
        self._revision = 0
        self.loads = 0
        self.writes = 0
        self.conflicts = 0

    async def ready(self) -> bool:
        return True

    async def load(self, run_id: str) -> Revisioned[ExecutorRunState] | None:
        await asyncio.sleep(0)
        self.loads += 1
        doc = self._docs.get(run_id)
        if doc is None:
            return None
        return Revisioned(ExecutorRunState.model_validate_json(doc[0]), doc[1])

    async def create(self, run_id: str, state: ExecutorRunState) -> int:
        await asyncio.sleep(0)
        if run_id in self._docs:
            self.conflicts += 1
            raise KvConflict(run_id)
        return self._write(run_id, state)

    async def update(self, run_id: str, state: ExecutorRunState, revision: int) -> int:
        await asyncio.sleep(0)
        current = self._docs.get(run_id)
        if current is None or current[1] != revision:
            self.conflicts += 1
            raise KvConflict(run_id)
        return self._write(run_id, state)

    def _write(self, run_id: str, state: ExecutorRunState) -> int:
        self._revision += 1
        self.writes += 1
        self._docs[run_id] = (state.model_dump_json(), self._revision)
        return self._revision
