"""The archive as the service sees it: record events, read runs back."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pulse_archiver.domain import ArchivedRun, RunRow, StoredValues
from pulse_contracts import RunEvent

__all__ = ["Archive"]


class Archive(Protocol):
    async def record(self, event: RunEvent, stored: StoredValues | None = None) -> bool:
        """Store `event` once and apply it to its run and steps; True if it was new.

        `stored` has the values of the event's references to the object store, by key:
        the steps' input and output and the run's result keep them, the events table
        keeps the event as it travelled.

        Recording an event again (a redelivery) changes nothing and returns False. Raises
        on storage failures, so the message is redelivered later.
        """
        ...

    async def get_run(self, run_id: str, tenant: str) -> ArchivedRun | None:
        """The run with its steps, or None if unknown or another tenant's."""
        ...

    async def list_runs(
        self, tenant: str, limit: int = 50, before: datetime | None = None
    ) -> list[RunRow]:
        """The tenant's runs, newest first, created before `before` when given."""
        ...
