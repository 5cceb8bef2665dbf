"""Run state in the JetStream KV bucket `pulse_run_state`."""

from __future__ import annotations

from nats.js.kv import KeyValue

from pulse_broker import Revisioned, TypedKv
from pulse_executor.domain import ExecutorRunState

__all__ = ["NatsRunStore"]


class NatsRunStore:
    """A `RunStore` over a KV bucket, bound once the bucket is provisioned at start-up."""

    def __init__(self) -> None:
        self._kv: TypedKv[ExecutorRunState] | None = None

    def bind(self, bucket: KeyValue) -> None:
        self._kv = TypedKv(bucket, ExecutorRunState)

    async def ready(self) -> bool:
        return self._kv is not None

    @property
    def _bucket(self) -> TypedKv[ExecutorRunState]:
        if self._kv is None:
            raise RuntimeError("run state store used before the KV bucket was bound")
        return self._kv

    async def load(self, run_id: str) -> Revisioned[ExecutorRunState] | None:
        return await self._bucket.get(run_id)

    async def create(self, run_id: str, state: ExecutorRunState) -> int:
        return await self._bucket.create(run_id, state)

    async def update(self, run_id: str, state: ExecutorRunState, revision: int) -> int:
        return await self._bucket.update(run_id, state, revision)
