"""Reading runs: one run (live state first, then the archive), a tenant's runs page by page
(the archive, plus runs it does not have yet), a run's timeline (the archive's events, else
the live state) and a tenant's usage.

Every read is scoped to the caller's tenant; another tenant's run reads as missing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Final

from pulse_contracts import RunState
from pulse_gateway.adapters.ports import (
    ArchiveUnavailableError,
    RecentRun,
    RecentRuns,
    RunArchive,
    RunStore,
    UsageTotals,
)
from pulse_gateway.domain import (
    RunPage,
    RunQuery,
    RunTimeline,
    build_timeline,
    is_run_id,
    live_timeline,
    merge_page,
)
from pulse_telemetry import run_scope

__all__ = ["RunHistory"]

# Request time (recent runs) and the stored state's creation differ by milliseconds;
# this much slack keeps a boundary run from being skipped by the pre-filter.
_SLACK: Final = timedelta(seconds=5)


def _may_match(run: RecentRun, query: RunQuery) -> bool:
    """A cheap first cut on what the request said, before reading the run's live state."""
    if query.text and query.text.casefold() not in run.prompt.casefold():
        return False
    if query.after is not None and run.created_at > query.after.created_at + _SLACK:
        return False
    if query.until is not None and run.created_at >= query.until + _SLACK:
        return False
    return not (query.since is not None and run.created_at < query.since - _SLACK)


class RunHistory:
    def __init__(self, store: RunStore, archive: RunArchive, recent: RecentRuns) -> None:
        self._store = store
        self._archive = archive
        self._recent = recent

    @property
    def archive(self) -> RunArchive:
        return self._archive

    async def find(self, *, tenant: str, run_id: str) -> RunState | None:
        """The run if it exists and belongs to `tenant`: its live state while the run-state
        bucket has it, else the archived run. Another tenant's run is None."""
        if not is_run_id(run_id):
            return None
        with run_scope(run_id, tenant=tenant):
            state = await self._store.get(run_id)
            if state is not None:
                return state if state.tenant == tenant else None
            return await self._archive.get_run(tenant, run_id)

    async def timeline(self, *, tenant: str, run_id: str) -> RunTimeline | None:
        """The run's attempts in time, from its archived events; a run the archive does not
        hold yet (or while the archive is down) from its live state. Another tenant's run
        is None."""
        if not is_run_id(run_id):
            return None
        with run_scope(run_id, tenant=tenant):
            try:
                events = await self._archive.run_events(tenant, run_id)
            except ArchiveUnavailableError:
                state = await self._store.get(run_id)
                if state is None or state.tenant != tenant:
                    raise
                return live_timeline(state)
            if events:
                return build_timeline(events)
            state = await self._store.get(run_id)
            return live_timeline(state) if state is not None and state.tenant == tenant else None

    async def list(self, *, tenant: str, query: RunQuery) -> RunPage:
        archived = await self._archive.list_runs(tenant, query)
        candidates = [r for r in self._recent.recent(tenant) if _may_match(r, query)]
        # Newest first; a page never needs more than this many to fill up.
        candidates = candidates[: 2 * query.limit + 10]
        # The live state only refines the page: if NATS is away, the archive's page stands.
        states = await asyncio.gather(
            *(self._store.get(r.run_id) for r in candidates), return_exceptions=True
        )
        live = [s for s in states if isinstance(s, RunState) and s.tenant == tenant]
        return merge_page(archived, live, query)

    async def usage(
        self, *, tenant: str, since: datetime | None, until: datetime | None
    ) -> UsageTotals:
        return await self._archive.usage(tenant, since, until)

    def note(self, state: RunState) -> None:
        """A run just submitted here: list it before the bus echoes it back."""
        self._recent.note(state)
