"""One batch of events into PostgreSQL, through asyncpg directly: the archiver's hot path.

The usual batch is all new events (the first delivery of each): one statement stores the
events, upserts the runs (merged per run in memory first) and the steps, in a single round
trip. A batch with an event archived before (a redelivery), or with several rows for one
step, goes the careful way in a transaction: store the events that are new, then apply
only theirs, the step rows one after another in the order their events came. Either way
the rows end as if each event had been applied on its own (`domain.batch` says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import asyncpg
from opentelemetry.context import Context

from pulse_archiver.adapters.archive_sql import (
    ARCHIVE_ALL_NEW,
    EVENTS,
    INSERT_NEW_EVENTS,
    RUNS,
    STEPS,
    UPSERT_RUN,
    UPSERT_STEP,
    as_arrays,
    event_values,
    row_values,
)
from pulse_archiver.domain import BatchRows, StepRow, StoredValues, batch_rows, project
from pulse_contracts import RunEvent

__all__ = ["Incoming", "write_batch"]


@dataclass(frozen=True)
class Incoming:
    """An event to archive, with the values its references point to."""

    event: RunEvent
    stored: StoredValues
    context: Context | None = field(default=None, compare=False, repr=False)
    """The submitter's trace context: the batch's write span joins its trace."""


def _distinct_steps(steps: Sequence[StepRow]) -> bool:
    # `batch_rows` sorts by key, so repeats are neighbours.
    return all((a.run_id, a.step_id) != (b.run_id, b.step_id) for a, b in pairwise(steps))


def _rows(items: Sequence[Incoming]) -> BatchRows:
    return batch_rows(project(item.event, item.stored) for item in items)


async def _all_new(conn: asyncpg.Connection, events: Sequence[RunEvent], rows: BatchRows) -> bool:
    """Archive `events` and `rows` in one statement; False (nothing written) if any of the
    events was archived before."""
    try:
        await conn.fetchval(
            ARCHIVE_ALL_NEW,
            *as_arrays([event_values(e) for e in events], EVENTS),
            *as_arrays([row_values(r, RUNS) for r in rows.runs], RUNS),
            *as_arrays([row_values(s, STEPS) for s in rows.steps], STEPS),
        )
    except asyncpg.UniqueViolationError:
        return False
    return True


async def _new_only(
    conn: asyncpg.Connection,
    firsts: Sequence[Incoming],
    events: Sequence[RunEvent],
    rows_of_all: BatchRows,
) -> set[str]:
    """Archive the events not archived before and apply theirs; their ids."""
    async with conn.transaction():
        stored = await conn.fetch(
            INSERT_NEW_EVENTS, *as_arrays([event_values(e) for e in events], EVENTS)
        )
        new = {record[0] for record in stored}
        rows = (
            rows_of_all
            if len(new) == len(firsts)
            else _rows([item for item in firsts if item.event.message_id in new])
        )
        if rows.runs:
            await conn.executemany(UPSERT_RUN, [row_values(r, RUNS) for r in rows.runs])
        if rows.steps:
            await conn.executemany(UPSERT_STEP, [row_values(s, STEPS) for s in rows.steps])
    return new


async def write_batch(conn: asyncpg.Connection, batch: Sequence[Incoming]) -> list[bool]:
    """Store `batch` atomically; per item, True if its event was new.

    An event twice in the batch is new at most once (its first time). Raises on any
    database error, with nothing written.
    """
    first: dict[str, int] = {}
    for index, item in enumerate(batch):
        first.setdefault(item.event.message_id, index)
    firsts = [item for index, item in enumerate(batch) if first[item.event.message_id] == index]
    # Sorted ids, like the sorted rows of `batch_rows`: one lock order for every writer.
    events = sorted((item.event for item in firsts), key=lambda e: e.message_id)
    rows = _rows(firsts)
    if _distinct_steps(rows.steps) and await _all_new(conn, events, rows):
        new = set(first)
    else:
        new = await _new_only(conn, firsts, events, rows)
    return [
        first[item.event.message_id] == index and item.event.message_id in new
        for index, item in enumerate(batch)
    ]
