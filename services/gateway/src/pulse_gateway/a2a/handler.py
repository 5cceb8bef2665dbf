"""The SDK's request handler, with Pulse's cancel and Pulse's cross-replica event stream.

Everything but CancelTask is the SDK's `DefaultRequestHandler`. A run is canceled by the
executor, whichever gateway replica is asked, so CancelTask goes through `RunControl`
(the code path of `POST /v1/runs/{id}/cancel`) and then waits, bounded, for the run to
end, answering with the task as the run then is.

The event stream lets any replica serve SubscribeToTask for any run — started over A2A on
another replica, or over REST — by tailing the run's events on the bus after the snapshot
the store returned. The SDK's own fan-out (`publish`) is not needed: the executor
already publishes every event there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

from a2a.server.agent_execution import AgentExecutor, RequestContextBuilder
from a2a.server.cluster import TaskEventStream, TaskVersion, VersionedEvent
from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultRequestHandlerV2, validate_request_params
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    Task,
    TaskNotCancelableError,
    TaskNotFoundError,
)

from pulse_contracts import RunState
from pulse_gateway.a2a.feed import run_events
from pulse_gateway.a2a.link import PulseLink, reachable_or_internal_error
from pulse_gateway.a2a.mapping import context_id_of, task_of
from pulse_gateway.a2a.store import PulseTaskStore
from pulse_gateway.a2a.tenancy import tenant_of
from pulse_gateway.a2a.updates import updates_of
from pulse_gateway.control import RunNotFoundError, RunStatusConflictError

__all__ = ["PulseRequestHandler", "PulseTaskEventStream"]

_POLL_S = (0.05, 0.1, 0.2, 0.4)


class PulseTaskEventStream(TaskEventStream):
    def __init__(self, link: PulseLink) -> None:
        self._link = link

    async def publish(self, task_id: str, event: VersionedEvent) -> None:
        return None

    async def subscribe(
        self, task_id: str, *, after: TaskVersion
    ) -> AsyncGenerator[VersionedEvent, None]:
        # The handler read the task through the tenant-scoped store before subscribing.
        with reachable_or_internal_error():
            state = await self._link.store().get(task_id)
            if state is None:
                return
            context_id = context_id_of(state)
            events = run_events(self._link.streams(), tenant=state.tenant, run_id=task_id)
            async with aclosing(events):
                async for event in events:
                    version = TaskVersion(event.seq + 1)
                    if not version.is_after(after):
                        continue
                    for update in updates_of(event, context_id):
                        yield VersionedEvent(event=update, version=version)

    async def destroy(self, task_id: str) -> None:
        return None


class PulseRequestHandler(DefaultRequestHandlerV2):
    def __init__(
        self,
        link: PulseLink,
        *,
        agent_executor: AgentExecutor,
        task_store: PulseTaskStore,
        agent_card: AgentCard,
        request_context_builder: RequestContextBuilder,
        event_stream: TaskEventStream,
    ) -> None:
        super().__init__(
            agent_executor=agent_executor,
            task_store=task_store,
            agent_card=agent_card,
            request_context_builder=request_context_builder,
            event_stream=event_stream,
        )
        self._link = link

    @validate_request_params
    async def on_cancel_task(
        self, params: CancelTaskRequest, context: ServerCallContext
    ) -> Task | None:
        tenant = tenant_of(context)
        with reachable_or_internal_error():
            try:
                asked = await self._link.control().cancel(tenant=tenant, run_id=params.id)
            except RunNotFoundError as exc:
                raise TaskNotFoundError from exc
            except RunStatusConflictError as exc:
                raise TaskNotCancelableError(message=exc.message) from exc
            return task_of(await self._ended(tenant, asked))

    async def _ended(self, tenant: str, state: RunState) -> RunState:
        """The run once the executor ended it, or as it is when the wait runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._link.cancel_wait_s
        attempt = 0
        while not state.status.is_terminal and loop.time() < deadline:
            await asyncio.sleep(_POLL_S[min(attempt, len(_POLL_S) - 1)])
            attempt += 1
            found = await self._link.intake().find(tenant=tenant, run_id=state.run_id)
            if found is None:
                break
            state = found
        return state
