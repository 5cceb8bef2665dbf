"""A JetStream KV bucket holding pydantic documents, with compare-and-set updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel

__all__ = ["KvConflict", "Revisioned", "TypedKv"]

M = TypeVar("M", bound=BaseModel)


class KvConflict(Exception):
    """Someone else wrote the key first (create of an existing key, or a stale revision)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} was written concurrently")
        self.key = key


@dataclass(frozen=True)
class Revisioned(Generic[M]):
    value: M
    revision: int


class TypedKv(Generic[M]):
    def __init__(self, kv: KeyValue, model: type[M]) -> None:
        self._kv = kv
        self._model = model

    async def get(self, key: str) -> Revisioned[M] | None:
        try:
            entry = await self._kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if entry.value is None or entry.revision is None:
            return None
        return Revisioned(self._model.model_validate_json(entry.value), entry.revision)

    async def create(self, key: str, value: M) -> int:
        """Write only if the key does not exist; raise `KvConflict` if it does."""
        try:
            return await self._kv.create(key, value.model_dump_json().encode())
        except KeyWrongLastSequenceError as exc:
            raise KvConflict(key) from exc

    async def update(self, key: str, value: M, revision: int) -> int:
        """Write only if the key is still at `revision`; raise `KvConflict` otherwise."""
        try:
            return await self._kv.update(key, value.model_dump_json().encode(), last=revision)
        except KeyWrongLastSequenceError as exc:
            raise KvConflict(key) from exc

    async def put(self, key: str, value: M) -> int:
        return await self._kv.put(key, value.model_dump_json().encode())
