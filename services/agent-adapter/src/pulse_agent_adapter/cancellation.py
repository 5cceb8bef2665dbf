"""Stopping attempts the executor no longer wants: the `CancelTask` listener.

The executor broadcasts a `CancelTask` on core NATS (`pulse.tasks.cancel.<run_id>`) when an
attempt timed out or its run ended. Every replica hears it: the one running the attempt
cancels its asyncio task (no result is published; the message is acknowledged), and every
replica remembers the attempt for a while, so a dispatch of it that arrives later — still
queued, or redelivered — is acknowledged without running the tool.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any, TypeAlias, TypeVar

from faststream.nats import NatsBroker

from pulse_contracts import CancelTask, DispatchTask, subjects
from pulse_telemetry import bind_run

__all__ = ["RunningTasks", "TaskKey", "register_cancel_listener", "task_key"]

log = logging.getLogger("pulse.agent_adapter")

TaskKey: TypeAlias = tuple[str, str, int]
"""(run_id, step_id, attempt): one attempt at one step."""

T = TypeVar("T")


def task_key(task: DispatchTask | CancelTask) -> TaskKey:
    return (task.run_id, task.step_id, task.attempt)


class RunningTasks:
    """The attempts this replica is running, and the ones it was told to stop."""

    def __init__(self, remember: int = 10_000) -> None:
        self._running: dict[TaskKey, asyncio.Task[Any]] = {}
        self._canceled: OrderedDict[TaskKey, None] = OrderedDict()
        self._remember = remember

    def is_canceled(self, key: TaskKey) -> bool:
        return key in self._canceled

    def is_running(self, key: TaskKey) -> bool:
        return key in self._running

    def cancel(self, key: TaskKey) -> bool:
        """Remember `key` as canceled; True if this replica was running it (now stopped)."""
        self._canceled[key] = None
        self._canceled.move_to_end(key)
        while len(self._canceled) > self._remember:
            self._canceled.popitem(last=False)
        task = self._running.get(key)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def run(self, key: TaskKey, work: Coroutine[Any, Any, T]) -> T | None:
        """Run `work` as its own task, stoppable by `cancel(key)`; None if it was stopped.

        If the caller itself is cancelled (the service shuts down), so is the work, and the
        cancellation propagates as usual.
        """
        if self.is_canceled(key):
            work.close()
            return None
        task = asyncio.create_task(work)
        self._running[key] = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            stopped_by_us = task.cancelled() and self.is_canceled(key)
            if stopped_by_us and (current is None or current.cancelling() == 0):
                return None
            raise
        finally:
            if self._running.get(key) is task:
                del self._running[key]


def register_cancel_listener(broker: NatsBroker, running: RunningTasks) -> None:
    """Core-NATS subscription without a queue group: every replica gets every `CancelTask`."""

    @broker.subscriber(
        subjects.TASKS_CANCEL_WILDCARD,
        title="CancelTask",
        description="Stop an attempt the executor no longer wants (timed out, run ended).",
    )
    async def cancel_task(command: CancelTask) -> None:
        bind_run(command.run_id, command.step_id, command.tenant)
        stopped = running.cancel(task_key(command))
        log.info(
            "attempt %d %s: %s",
            command.attempt,
            "stopped" if stopped else "will not run here",
            command.reason.message,
            extra={"attempt": command.attempt, "error_code": command.reason.code.value},
        )
