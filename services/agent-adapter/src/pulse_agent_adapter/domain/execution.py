"""Running one dispatched task: look the tool up, run it under the task's deadline, and
turn what happened into a `TaskFinished`.

What the tool said is a result, whatever it was: an output, a refusal (`ToolFailed`), an
unknown tool, a timeout. Everything else (a store that cannot be reached, a lost
connection) is raised, so the message is delivered again later and nothing is reported
until the task really ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from pulse_agent_adapter.domain.tools import ToolContext, ToolRegistry
from pulse_contracts import (
    DispatchTask,
    ErrorCode,
    ErrorInfo,
    JsonValue,
    PulseError,
    TaskFinished,
    task_message_id,
    utcnow,
)

__all__ = ["RESULT_KIND", "execute_task", "timeout_error"]

RESULT_KIND = "result"
"""The `kind` part of a result's deterministic message id."""

_JSON: TypeAdapter[JsonValue] = TypeAdapter(JsonValue)


def timeout_error(task: DispatchTask) -> ErrorInfo:
    # Retryable: the next attempt may well be faster (a slow provider, a busy store). The
    # same code as the executor's own step timeout, so retry policy treats both alike.
    return ErrorInfo(
        code=ErrorCode.TIMED_OUT,
        message=f"timed out after {task.timeout_s:g}s",
        run_id=task.run_id,
        step_id=task.step_id,
        retryable=True,
    )


def _scoped(exc: PulseError, task: DispatchTask) -> ErrorInfo:
    info = exc.to_info()
    return info.model_copy(
        update={"run_id": info.run_id or task.run_id, "step_id": info.step_id or task.step_id}
    )


async def _run(
    registry: ToolRegistry, task: DispatchTask, ctx: ToolContext
) -> tuple[JsonValue, ErrorInfo | None]:
    try:
        tool = registry.get(task.tool, run_id=task.run_id, step_id=task.step_id)
    except PulseError as exc:
        return None, _scoped(exc, task)
    deadline = asyncio.timeout(task.timeout_s)
    try:
        async with deadline:
            raw = await tool.run(dict(task.input), ctx)
    except PulseError as exc:
        return None, _scoped(exc, task)
    except TimeoutError:
        # Only our own deadline is the task's timeout; a TimeoutError from deeper down
        # (a store that did not answer) is an infrastructure failure.
        if not deadline.expired():
            raise
        return None, timeout_error(task)
    try:
        return _JSON.validate_python(raw), None
    except ValidationError:
        return None, ErrorInfo(
            code=ErrorCode.INTERNAL,
            message=f"tool {task.tool!r} returned an output that is not JSON",
            run_id=task.run_id,
            step_id=task.step_id,
        )


async def execute_task(
    registry: ToolRegistry,
    task: DispatchTask,
    *,
    trace_id: str | None,
    clock: Callable[[], datetime] = utcnow,
) -> TaskFinished:
    """Run `task` and report its outcome; raises only when the task must be tried again."""
    started_at = clock()
    ctx = ToolContext(
        run_id=task.run_id, step_id=task.step_id, tenant=task.tenant, timeout_s=task.timeout_s
    )
    output, error = await _run(registry, task, ctx)
    return TaskFinished(
        message_id=task_message_id(task.run_id, task.step_id, task.attempt, RESULT_KIND),
        run_id=task.run_id,
        tenant=task.tenant,
        trace_id=trace_id,
        step_id=task.step_id,
        attempt=task.attempt,
        tool=task.tool,
        outcome="failed" if error is not None else "succeeded",
        output=output,
        error=error,
        usage=ctx.usage,
        started_at=started_at,
        finished_at=clock(),
        agent=ctx.agent or task.agent,
    )
