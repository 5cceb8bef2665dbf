"""The A2A task store over Pulse's run state: a task is read from its run, never stored.

The executor owns run state (the `pulse_run_state` bucket), so the SDK's writes are
no-ops: everything it would save is derived again from the run and its events. A task's
version is its run's `seq` + 1 (0 means "unversioned" to the SDK), which lines up with the
event stream's versions, so a subscriber joining mid-run gets the snapshot and then only
the events after it. Every read is scoped to the caller's tenant; another tenant's run
is exactly as absent as a missing one.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from a2a.server.cluster import StoredTask, TaskVersion, VersionedTaskStore
from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.types import InvalidParamsError, ListTasksRequest, ListTasksResponse, Task
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE

from pulse_contracts import RunState
from pulse_gateway.a2a.link import PulseLink, reachable_or_internal_error
from pulse_gateway.a2a.mapping import RUN_STATUS_OF, context_id_of, task_of
from pulse_gateway.a2a.tenancy import tenant_of

__all__ = ["PageToken", "PulseTaskStore", "select_runs", "version_of"]


def version_of(state: RunState) -> TaskVersion:
    return TaskVersion(state.seq + 1)


@dataclass(frozen=True, order=True)
class PageToken:
    """Where a ListTasks page ends: the last run's (updated_at, run_id)."""

    updated_at: datetime
    run_id: str

    def encode(self) -> str:
        raw = json.dumps({"u": self.updated_at.isoformat(), "r": self.run_id})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> PageToken:
        try:
            loaded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            updated_at = datetime.fromisoformat(loaded["u"])
            run_id = loaded["r"]
        except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as exc:
            raise InvalidParamsError(message="pageToken is not one this agent returned") from exc
        if not isinstance(run_id, str) or updated_at.tzinfo is None:
            raise InvalidParamsError(message="pageToken is not one this agent returned")
        return cls(updated_at, run_id)

    @classmethod
    def of(cls, state: RunState) -> PageToken:
        return cls(state.updated_at, state.run_id)


def _matches(state: RunState, params: ListTasksRequest) -> bool:
    if params.context_id and context_id_of(state) != params.context_id:
        return False
    if params.status and RUN_STATUS_OF.get(params.status) is not state.status:
        return False
    if params.HasField("status_timestamp_after"):
        after = params.status_timestamp_after.ToDatetime(tzinfo=UTC)
        if state.updated_at < after:
            return False
    return True


def select_runs(
    runs: list[RunState], params: ListTasksRequest
) -> tuple[list[RunState], str, int, int]:
    """(page, next page token or "", total matching, page size): most recently updated first."""
    size = params.page_size if params.HasField("page_size") else DEFAULT_LIST_TASKS_PAGE_SIZE
    matching = sorted((s for s in runs if _matches(s, params)), key=PageToken.of, reverse=True)
    start = 0
    if params.page_token:
        after = PageToken.decode(params.page_token)
        start = next((i for i, s in enumerate(matching) if PageToken.of(s) < after), len(matching))
    page = matching[start : start + size]
    more = start + size < len(matching)
    token = PageToken.of(page[-1]).encode() if more and page else ""
    return page, token, len(matching), size


class PulseTaskStore(VersionedTaskStore):
    def __init__(self, link: PulseLink) -> None:
        self._link = link

    async def get(self, task_id: str, context: ServerCallContext) -> StoredTask | None:
        tenant = tenant_of(context)
        with reachable_or_internal_error():
            state = await self._link.intake().find(tenant=tenant, run_id=task_id)
        if state is None:
            return None
        return StoredTask(task_of(state), version_of(state))

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        tenant = tenant_of(context)
        with reachable_or_internal_error():
            runs = await self._link.catalog.runs_of(tenant)
        page, token, total, size = select_runs(runs, params)
        return ListTasksResponse(
            tasks=[task_of(state) for state in page],
            next_page_token=token,
            page_size=size,
            total_size=total,
        )

    async def save(
        self,
        task: Task,
        *,
        event: Event | None,
        prev: Task | None,
        prev_version: TaskVersion,
        context: ServerCallContext,
    ) -> TaskVersion:
        # The run's state is the executor's to write; what the SDK would keep here is
        # derived from it again on every read.
        if isinstance(event, Task):
            self._link.noted(task.id)
        return TaskVersion.MISSING

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        # Runs are history: they are not deleted over A2A.
        return None
