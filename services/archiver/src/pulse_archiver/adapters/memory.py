"""An archive in process memory, for handler tests; same rules as the PostgreSQL one."""

from __future__ import annotations

from datetime import datetime

from pulse_archiver.domain import ArchivedRun, History, RunRow, StoredValues
from pulse_contracts import RunEvent

__all__ = ["InMemoryArchive"]


class InMemoryArchive:
    def __init__(self) -> None:
        self.history = History()

    async def record(self, event: RunEvent, stored: StoredValues | None = None) -> bool:
        return self.history.record(event, stored or {})

    async def get_run(self, run_id: str, tenant: str) -> ArchivedRun | None:
        archived = self.history.get(run_id)
        return archived if archived is not None and archived.run.tenant == tenant else None

    async def list_runs(
        self, tenant: str, limit: int = 50, before: datetime | None = None
    ) -> list[RunRow]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        runs = [
            r
            for r in self.history.runs()
            if r.tenant == tenant and (before is None or r.created_at < before)
        ]
        runs.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
        return runs[:limit]
