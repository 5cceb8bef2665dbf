"""Group commit: items submitted while a write is in progress go together in the next one.

The archiver handles up to `max_workers` messages at once; each handler awaits its own
event's write. Writing one transaction at a time and taking everything that queued up
meanwhile costs nothing when events come one by one (the first is written at once) and
shares a transaction's round trips and fixed costs among many events under load.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


@dataclass
class _Waiting(Generic[Item, Outcome]):
    item: Item
    outcome: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, outcome: Outcome | BaseException) -> None:
        if self.outcome.done():  # its handler was cancelled meanwhile
            return
        if isinstance(outcome, asyncio.CancelledError):
            self.outcome.cancel()
        elif isinstance(outcome, BaseException):
            self.outcome.set_exception(outcome)
        else:
            self.outcome.set_result(outcome)


class GroupCommit(Generic[Item, Outcome]):
    """Writes submitted items in batches of at most `max_batch`, one batch at a time.

    `write` takes a batch and returns one outcome per item, in order, or raises; then every
    item of the batch gets the exception — unless `alone(exc)` says it may be one item's
    fault (the database refused its content): then each item is written again on its own,
    so only the culprit fails and the rest are not held back.
    """

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Awaitable[Sequence[Outcome]]],
        *,
        max_batch: int = 256,
        alone: Callable[[Exception], bool] = lambda exc: False,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write = write
        self._max_batch = max_batch
        self._alone = alone
        self._queue: list[_Waiting[Item, Outcome]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Outcome:
        """Write `item` with whatever else is waiting; its outcome, or the write's error."""
        waiting: _Waiting[Item, Outcome] = _Waiting(item)
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            # An empty context: the writer serves every handler's items, so it must not carry
            # the first one's trace and run (log lines would name the wrong run).
            self._writer = asyncio.create_task(
                self._drain(), name="archive-group-commit", context=contextvars.Context()
            )
        # A handler cancelled meanwhile cancels only its own wait: the batch is written for
        # the others, by a task of its own.
        return await waiting.outcome

    async def settled(self) -> None:
        """Return once everything submitted so far is written (or failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                await self._settle(batch)
            except BaseException as exc:  # cancelled with the loop: nobody waits forever
                waiting_too, self._queue = self._queue, []
                for waiting in [*batch, *waiting_too]:
                    waiting.settle(exc)
                raise

    async def _settle(self, batch: Sequence[_Waiting[Item, Outcome]]) -> None:
        try:
            outcomes = await self._write([w.item for w in batch])
        except Exception as exc:
            if len(batch) == 1 or not self._alone(exc):
                for waiting in batch:
                    waiting.settle(exc)
                return
            log.debug("a batch of %d was refused; writing each on its own", len(batch))
            for waiting in batch:
                await self._settle([waiting])
            return
        if len(outcomes) != len(batch):
            error = RuntimeError(f"{len(outcomes)} outcomes for a batch of {len(batch)}")
            for waiting in batch:
                waiting.settle(error)
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            waiting.settle(outcome)
