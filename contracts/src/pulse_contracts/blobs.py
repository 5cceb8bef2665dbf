"""References to values too large to travel inside a message."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["BlobRef"]


class BlobRef(BaseModel):
    """A value kept in the JetStream object store instead of the message that mentions it."""

    bucket: str
    key: str
    size: int = Field(ge=0, description="Size in bytes of the stored JSON document.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str = "application/json"
