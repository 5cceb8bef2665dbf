"""The group commit alone: batches form while a write is under way; failures reach the right
items."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from pulse_archiver.adapters.group_commit import GroupCommit


class Refused(Exception):
    """Stands for content the database refuses."""


class Store:
    """Doubles each item; writes wait on `gate` so tests decide when a write ends."""

    def __init__(self, refuse: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.refuse = refuse
        self.fail_with: Exception | None = None

    async def write(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        if self.refuse in items:
            raise Refused(f"{self.refuse} refused")
        return [2 * item for item in items]


async def test_items_submitted_during_a_write_share_the_next_one() -> None:
    store = Store()
    commits = GroupCommit(store.write)
    store.gate.clear()
    first = asyncio.create_task(commits.submit(1))
    await asyncio.sleep(0)  # the first write starts with the first item alone
    rest = [asyncio.create_task(commits.submit(i)) for i in range(2, 6)]
    await asyncio.sleep(0)
    store.gate.set()
    assert await first == 2
    assert await asyncio.gather(*rest) == [4, 6, 8, 10]
    assert store.batches == [[1], [2, 3, 4, 5]]


async def test_batches_are_capped() -> None:
    store = Store()
    commits = GroupCommit(store.write, max_batch=2)
    assert await asyncio.gather(*(commits.submit(i) for i in range(5))) == [0, 2, 4, 6, 8]
    assert [len(b) for b in store.batches] == [2, 2, 1]


async def test_one_refused_item_is_found_and_the_others_are_written() -> None:
    store = Store(refuse=3)
    commits = GroupCommit(store.write, alone=lambda exc: isinstance(exc, Refused))
    outcomes = await asyncio.gather(
        *(commits.submit(i) for i in range(1, 5)), return_exceptions=True
    )
    assert outcomes[0] == 2
    assert isinstance(outcomes[2], Refused)
    assert [outcomes[1], outcomes[3]] == [4, 8]
    assert store.batches == [[1, 2, 3, 4], [1], [2], [3], [4]]


async def test_any_other_failure_fails_the_whole_batch() -> None:
    store = Store()
    store.fail_with = ConnectionError("server gone")
    commits = GroupCommit(store.write, alone=lambda exc: isinstance(exc, Refused))
    outcomes = await asyncio.gather(*(commits.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert store.batches == [[0, 1, 2]]  # not retried item by item
    store.fail_with = None
    assert await commits.submit(7) == 14  # and the next write goes ahead


async def test_a_cancelled_waiter_leaves_its_batch_to_the_others() -> None:
    store = Store()
    commits = GroupCommit(store.write)
    store.gate.clear()
    waiters = [asyncio.create_task(commits.submit(i)) for i in range(3)]
    await asyncio.sleep(0)
    waiters[1].cancel()
    store.gate.set()
    assert await waiters[0] == 0
    assert await waiters[2] == 4
    with pytest.raises(asyncio.CancelledError):
        await waiters[1]
    await commits.settled()


async def test_a_write_that_miscounts_fails_its_items() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return []

    with pytest.raises(RuntimeError, match="0 outcomes for a batch of 1"):
        await GroupCommit(short).submit(1)


def test_a_batch_holds_at_least_one_item() -> None:
    async def write(items: Sequence[int]) -> list[int]:
        return list(items)

    with pytest.raises(ValueError, match="max_batch"):
        GroupCommit(write, max_batch=0)


_SUBMITTER: contextvars.ContextVar[str] = contextvars.ContextVar("submitter", default="none")


async def test_the_writer_does_not_carry_the_first_submitters_context() -> None:
    seen: list[str] = []

    async def write(items: Sequence[int]) -> list[int]:
        seen.append(_SUBMITTER.get())
        return list(items)

    commits = GroupCommit(write)

    async def submit_as(name: str, item: int) -> int:
        _SUBMITTER.set(name)
        return await commits.submit(item)

    assert await asyncio.gather(submit_as("run-a", 1), submit_as("run-b", 2)) == [1, 2]
    assert seen == ["none"]  # one batch, written outside both submitters' contexts
