"""Large values around a tool call: inputs read from the object store before the tool runs,
an output too large for a message written to it after.

The executor passes an input field that is a large earlier output as a reference
(`DispatchTask.input_refs`); the tool sees the value. An output whose JSON exceeds
`limit_bytes` goes to the object store under `<run>/<step>/<attempt>/output/<sha256>`
and the result carries `output_ref` with `output` null, so no result meets NATS' payload
limit. An input that is gone (expired) or corrupt fails the step: no retry brings it back.
A store that cannot be reached raises, and the task is delivered again later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from pulse_agent_adapter.domain import ToolRegistry, execute_task
from pulse_agent_adapter.domain.execution import RESULT_KIND
from pulse_broker import BlobCorrupted, BlobMissing, BlobStore, load_blob
from pulse_contracts import (
    DispatchTask,
    ErrorCode,
    ErrorInfo,
    TaskFinished,
    blob_digest,
    blob_ref,
    encode_blob,
    output_key,
    task_message_id,
    utcnow,
)

__all__ = ["LargeValues"]

log = logging.getLogger("pulse.agent_adapter")


class LargeValues:
    """Runs tasks with their large inputs read and their large output stored."""

    def __init__(
        self, store: BlobStore, limit_bytes: int, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._store = store
        self._limit_bytes = limit_bytes
        self._clock = clock

    async def execute(
        self, registry: ToolRegistry, task: DispatchTask, *, trace_id: str | None
    ) -> TaskFinished:
        """`execute_task`, with large inputs read first and a large output stored after."""
        started_at = self._clock()
        try:
            task = await self.with_inputs(task)
        except (BlobMissing, BlobCorrupted) as exc:
            return self._input_lost(task, exc, trace_id, started_at)
        finished = await execute_task(registry, task, trace_id=trace_id, clock=self._clock)
        return await self.offload(finished)

    async def with_inputs(self, task: DispatchTask) -> DispatchTask:
        """The task with every field of `input_refs` read into `input`."""
        if not task.input_refs:
            return task
        values = dict(task.input)
        for field, ref in task.input_refs.items():
            values[field] = await load_blob(self._store, ref)
        return task.model_copy(update={"input": values, "input_refs": {}})

    async def offload(self, finished: TaskFinished) -> TaskFinished:
        """The result, with an output above the limit moved to the object store."""
        if finished.output is None:
            return finished
        data = encode_blob(finished.output)
        if len(data) <= self._limit_bytes:
            return finished
        sha256 = blob_digest(data)
        key = output_key(finished.run_id, finished.step_id, finished.attempt, sha256)
        ref = blob_ref(key, data, sha256=sha256)
        await self._store.put(ref, data)
        log.info("output of %d bytes stored as %s", ref.size, ref.key)
        return finished.model_copy(update={"output": None, "output_ref": ref})

    def _input_lost(
        self,
        task: DispatchTask,
        exc: BlobMissing | BlobCorrupted,
        trace_id: str | None,
        started_at: datetime,
    ) -> TaskFinished:
        error = ErrorInfo(
            code=ErrorCode.UNRESOLVED_REFERENCE,
            message=f"an input of the step cannot be read: {exc}",
            run_id=task.run_id,
            step_id=task.step_id,
        )
        return TaskFinished(
            message_id=task_message_id(task.run_id, task.step_id, task.attempt, RESULT_KIND),
            run_id=task.run_id,
            tenant=task.tenant,
            trace_id=trace_id,
            step_id=task.step_id,
            attempt=task.attempt,
            tool=task.tool,
            outcome="failed",
            error=error,
            started_at=started_at,
            finished_at=self._clock(),
        )
