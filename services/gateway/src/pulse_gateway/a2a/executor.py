"""The Pulse `AgentExecutor`: a message becomes a run, the run's events become task updates.

The executor never plans or runs anything. For a new message it enqueues the task as
submitted, submits the run through the gateway's `RunIntake` (state in KV, then
`RunRequested` — exactly what `POST /v1/runs` does) and relays the run's events as status
and artifact updates until the run ends. The events are replayed from the run's first, so
none published before the executor started following is missed.

Task ids are run ids, derived like an idempotency key from the tenant and the message id:
a client resending a message it got no answer for reaches the same run, not a second one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import aclosing, suppress
from typing import Final

from a2a.server.agent_execution import AgentExecutor, RequestContext, RequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.types import (
    InternalError,
    InvalidParamsError,
    Message,
    SendMessageRequest,
    Task,
    TaskStatus,
    TaskStatusUpdateEvent,
    UnsupportedOperationError,
)
from pydantic import ValidationError

from pulse_contracts import RunState, utcnow
from pulse_gateway.a2a.feed import run_events
from pulse_gateway.a2a.link import PulseLink, reachable_or_internal_error
from pulse_gateway.a2a.mapping import (
    TASK_STATE_OF,
    a2a_run_metadata,
    context_id_of,
    idempotency_key,
    initial_task,
    prompt_of,
)
from pulse_gateway.a2a.tenancy import tenant_of
from pulse_gateway.a2a.updates import is_terminal_event, updates_of
from pulse_gateway.api.models import CreateRun
from pulse_gateway.control import RunNotFoundError, RunStatusConflictError
from pulse_gateway.domain import new_run_id

__all__ = ["PulseAgentExecutor", "PulseRequestContextBuilder"]

log = logging.getLogger(__name__)

# The SDK records a new task within a loop turn or two; this only bounds a surprise.
_RECORDING_S: Final = 5.0


def _checked_prompt(params: SendMessageRequest) -> str:
    """The goal, held to the same rules as `POST /v1/runs`."""
    prompt = prompt_of(params.message)
    try:
        CreateRun(prompt=prompt)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"] if exc.errors() else "invalid"
        raise InvalidParamsError(
            message=f"The message's text parts are the goal: {problem}"
        ) from exc
    return prompt


class PulseRequestContextBuilder(RequestContextBuilder):
    """Names the task after its run (tenant + message id) and checks the goal up front."""

    def __init__(self, link: PulseLink) -> None:
        self._link = link

    async def build(
        self,
        context: ServerCallContext,
        params: SendMessageRequest | None = None,
        task_id: str | None = None,
        context_id: str | None = None,
        task: Task | None = None,
    ) -> RequestContext:
        if params is None:
            return RequestContext(context, task_id=task_id, context_id=context_id, task=task)
        if task_id:
            raise UnsupportedOperationError(
                message="A Pulse task takes no follow-up messages; send a new message "
                "without taskId to start another run."
            )
        _checked_prompt(params)
        tenant = tenant_of(context)
        run_id = new_run_id(tenant, idempotency_key(params.message.message_id))
        with reachable_or_internal_error():
            existing = await self._link.intake().find(tenant=tenant, run_id=run_id)
        if existing is not None:
            # A resent message: its task keeps the context it was started in.
            known = context_id_of(existing)
            if context_id and context_id != known:
                raise InvalidParamsError(
                    message="This messageId already started a task in another context."
                )
            context_id = known
        return RequestContext(
            context,
            request=params,
            task_id=run_id,
            context_id=context_id or uuid.uuid4().hex,
            task=task,
        )


class PulseAgentExecutor(AgentExecutor):
    def __init__(self, link: PulseLink) -> None:
        self._link = link

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        run_id, context_id, message = context.task_id, context.context_id, context.message
        if not run_id or not context_id or message is None:
            raise InternalError(message="The request carries no message to run.")
        tenant = tenant_of(context.call_context)
        with reachable_or_internal_error():
            seen = 0
            if context.current_task is None:
                async with self._link.recording(run_id) as recorded:
                    await event_queue.enqueue_event(
                        initial_task(
                            run_id=run_id, context_id=context_id, message=message, now=utcnow()
                        )
                    )
                    with suppress(TimeoutError):
                        await asyncio.wait_for(recorded.wait(), _RECORDING_S)
                await self._submit(tenant, run_id, context_id, message)
            else:
                # The message was sent before and its run exists: carry on from there.
                state = await self._link.intake().find(tenant=tenant, run_id=run_id)
                if state is None:
                    raise InternalError(message="The task's run vanished.")
                seen = state.seq
                await event_queue.enqueue_event(_current_status(state))
            # Replayed from the run's first event, so none published before this point is lost.
            events = run_events(self._link.streams(), tenant=tenant, run_id=run_id)
            async with aclosing(events):
                async for event in events:
                    if event.seq <= seen:
                        continue
                    for update in updates_of(event, context_id):
                        await event_queue.enqueue_event(update)
                    if is_terminal_event(event):
                        return

    async def _submit(self, tenant: str, run_id: str, context_id: str, message: Message) -> None:
        submission = await self._link.intake().submit(
            tenant=tenant,
            prompt=prompt_of(message),
            metadata=a2a_run_metadata(context_id, message.message_id),
            idempotency_key=idempotency_key(message.message_id),
        )
        if submission.state.run_id != run_id:
            raise InternalError(message="The run was given another id than its task.")
        log.info("A2A message started run %s in context %s", run_id, context_id)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        # CancelTask is answered by the request handler through `RunControl`; this is the
        # SDK's own path, kept equivalent: ask the executor to stop the run, whose
        # `run.canceled` event then ends `execute` like any other ending.
        if not context.task_id:
            return
        tenant = tenant_of(context.call_context)
        with reachable_or_internal_error():
            try:
                await self._link.control().cancel(tenant=tenant, run_id=context.task_id)
            except (RunNotFoundError, RunStatusConflictError):
                log.info("cancel of run %s: nothing to cancel", context.task_id)


def _current_status(state: RunState) -> TaskStatusUpdateEvent:
    return TaskStatusUpdateEvent(
        task_id=state.run_id,
        context_id=context_id_of(state),
        status=TaskStatus(state=TASK_STATE_OF[state.status], timestamp=state.updated_at),
    )
