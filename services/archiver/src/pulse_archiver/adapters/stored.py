"""Reading the values an event carries by reference, for the archive to keep."""

from __future__ import annotations

import logging

from pulse_archiver.domain import refs_of
from pulse_broker import BlobCorrupted, BlobMissing, BlobStore, load_blob
from pulse_contracts import JsonValue, RunEvent

__all__ = ["read_stored"]

log = logging.getLogger(__name__)


async def read_stored(event: RunEvent, blobs: BlobStore) -> dict[str, JsonValue]:
    """The values of `event`'s references, by key.

    One that is gone (it outlived the bucket's max age) or corrupt is left out — its
    column stays null and the events table still has the reference — because no
    redelivery brings it back. Any other error propagates: the event is redelivered.
    """
    values: dict[str, JsonValue] = {}
    for ref in refs_of(event):
        if ref.key in values:
            continue
        try:
            values[ref.key] = await load_blob(blobs, ref)
        except (BlobMissing, BlobCorrupted) as exc:
            log.warning("archiving %s without a stored value: %s", event.type, exc)
    return values
