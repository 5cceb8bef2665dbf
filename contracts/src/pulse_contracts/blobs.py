"""References to values too large to travel inside a message.

A step output (or a dispatched input field) above the configured size is written, as
compact UTF-8 JSON, to the JetStream object store `subjects.OBJ_OUTPUTS`; the message
that would have carried it carries a `BlobRef` instead and the value's place is null.
Keys are content-addressed under the run and step, so writing the same value twice (a
redelivered task) is harmless and a key never names two different values:

- an output: `<run_id>/<step_id>/<attempt>/output/<sha256>`;
- an input field: `<run_id>/<step_id>/input/<sha256>`.
"""

from __future__ import annotations

import hashlib

import pydantic_core
from pydantic import BaseModel, Field, JsonValue

from pulse_contracts import subjects

__all__ = [
    "BlobRef",
    "blob_digest",
    "blob_ref",
    "decode_blob",
    "encode_blob",
    "input_key",
    "output_key",
]


class BlobRef(BaseModel):
    """A value kept in the JetStream object store instead of the message that mentions it."""

    bucket: str
    key: str
    size: int = Field(ge=0, description="Size in bytes of the stored JSON document.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str = "application/json"


def encode_blob(value: JsonValue) -> bytes:
    """The stored form of a value: compact UTF-8 JSON, what `size` and `sha256` describe."""
    return pydantic_core.to_json(value)


def decode_blob(data: bytes) -> JsonValue:
    decoded: JsonValue = pydantic_core.from_json(data)
    return decoded


def blob_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_ref(
    key: str, data: bytes, *, sha256: str | None = None, bucket: str = subjects.OBJ_OUTPUTS
) -> BlobRef:
    """The reference to `data` stored under `key` (`sha256` when already computed)."""
    return BlobRef(bucket=bucket, key=key, size=len(data), sha256=sha256 or blob_digest(data))


def output_key(run_id: str, step_id: str, attempt: int, sha256: str) -> str:
    return f"{run_id}/{step_id}/{attempt}/output/{sha256}"


def input_key(run_id: str, step_id: str, sha256: str) -> str:
    return f"{run_id}/{step_id}/input/{sha256}"
