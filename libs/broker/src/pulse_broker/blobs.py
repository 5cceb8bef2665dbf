"""Values too large for a message, in the JetStream object store (`subjects.OBJ_OUTPUTS`).

Writers store a value's JSON under a content-addressed key (`pulse_contracts.blobs`) and
send the `BlobRef` instead; readers fetch it by the reference and check its digest. A key
that exists already holds the same bytes, so `put` skips it: a redelivered task writes
nothing twice, and an object is never replaced while someone reads it.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from faststream.nats import NatsBroker
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from pulse_broker.provision import ensure_object_store
from pulse_broker.runtime import jetstream
from pulse_contracts import (
    BlobRef,
    JsonValue,
    blob_digest,
    blob_ref,
    decode_blob,
    encode_blob,
    subjects,
)
from pulse_settings import ServiceSettings

__all__ = [
    "BlobCorrupted",
    "BlobMissing",
    "BlobStore",
    "InMemoryBlobStore",
    "NatsBlobStore",
    "load_blob",
    "open_output_store",
]


class BlobMissing(LookupError):
    """No object under the reference's key: it expired, or was never written."""

    def __init__(self, ref: BlobRef) -> None:
        super().__init__(f"object {ref.key!r} is not in bucket {ref.bucket!r}")
        self.ref = ref


class BlobCorrupted(ValueError):
    """The object's bytes do not match the reference's size and digest."""

    def __init__(self, ref: BlobRef, why: str) -> None:
        super().__init__(f"object {ref.key!r} in bucket {ref.bucket!r} is corrupt: {why}")
        self.ref = ref


class BlobStore(Protocol):
    """Where large values live. Any other exception means the store could not be reached."""

    async def put(self, ref: BlobRef, data: bytes) -> None:
        """Store `data` under `ref.key` unless the key exists (it holds the same bytes)."""
        ...

    async def get(self, ref: BlobRef) -> bytes:
        """The bytes `ref` names; `BlobMissing` or `BlobCorrupted` when they are not there."""
        ...


def _checked(ref: BlobRef, data: bytes) -> bytes:
    if len(data) != ref.size:
        raise BlobCorrupted(ref, f"{len(data)} bytes, expected {ref.size}")
    if blob_digest(data) != ref.sha256:
        raise BlobCorrupted(ref, "sha256 differs")
    return data


async def load_blob(store: BlobStore, ref: BlobRef) -> JsonValue:
    """The JSON value `ref` names."""
    return decode_blob(await store.get(ref))


class NatsBlobStore:
    """A `BlobStore` over the object store; bound once the bucket is provisioned."""

    def __init__(self, *, read_timeout_s: float = 60.0) -> None:
        self._store: ObjectStore | None = None
        self._read_timeout_s = read_timeout_s

    def bind(self, store: ObjectStore) -> None:
        self._store = store

    async def ready(self) -> bool:
        return self._store is not None

    @property
    def _bucket(self) -> ObjectStore:
        if self._store is None:
            raise RuntimeError("object store used before it was bound")
        return self._store

    async def put(self, ref: BlobRef, data: bytes) -> None:
        try:
            await self._bucket.get_info(ref.key)
            return
        except NotFoundError:
            pass
        await self._bucket.put(ref.key, data)

    async def get(self, ref: BlobRef) -> bytes:
        try:
            # nats-py waits for chunks without a deadline; an object purged mid-read would
            # hang the handler, so the read has one (the message is then redelivered).
            async with asyncio.timeout(self._read_timeout_s):
                result = await self._bucket.get(ref.key)
        except NotFoundError as exc:
            raise BlobMissing(ref) from exc
        return _checked(ref, bytes(result.data or b""))


class InMemoryBlobStore:
    """A `BlobStore` in process memory, for tests."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads = 0

    async def put(self, ref: BlobRef, data: bytes) -> None:
        self.objects.setdefault(ref.key, data)

    async def get(self, ref: BlobRef) -> bytes:
        self.reads += 1
        data = self.objects.get(ref.key)
        if data is None:
            raise BlobMissing(ref)
        return _checked(ref, data)

    async def put_value(self, key: str, value: JsonValue) -> BlobRef:
        """Store `value` under `key`: a shortcut for arranging tests."""
        data = encode_blob(value)
        ref = blob_ref(key, data)
        await self.put(ref, data)
        return ref


async def open_output_store(
    broker: NatsBroker, settings: ServiceSettings, store: NatsBlobStore
) -> NatsBlobStore:
    """Bind `store` to `subjects.OBJ_OUTPUTS`, creating the bucket if it is missing (call
    from `on_startup`). Looked up first, so a service whose NATS user may not create it
    works once the setup job has."""
    js = await jetstream(broker)
    store.bind(await ensure_object_store(js, subjects.OBJ_OUTPUTS, settings))
    return store
