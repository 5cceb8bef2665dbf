"""The PostgreSQL archive writing many events at once: group commits against a real server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_archiver.adapters import PostgresArchive
from pulse_archiver.domain import fold
from pulse_contracts import InvalidMessage, RunEvent, StepCompleted

pytestmark = pytest.mark.postgres

RunFactory = Callable[..., list[RunEvent]]


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_concurrent_shuffled_and_repeated_events_give_the_rows_of_fold(
    archive: PostgresArchive, engine: AsyncEngine, make_run: RunFactory
) -> None:
    # Handlers record at once, so batches of every size form: all new, with redeliveries,
    # with several rows for one step, with several runs.
    events = make_run("run-1", steps=6) + make_run("run-2", steps=3) + make_run("run-3", steps=2)
    rng = random.Random(5)
    replayed = events + rng.sample(events, k=len(events) // 2)
    rng.shuffle(replayed)
    new = 0
    while replayed:
        size = rng.randint(1, 12)
        chunk, replayed = replayed[:size], replayed[size:]
        new += sum(await asyncio.gather(*(archive.record(e) for e in chunk)))
    assert new == len({e.message_id for e in events})
    assert await _count(engine, "SELECT count(*) FROM events") == len(events)
    expected = fold(events)
    for run_id, run in expected.items():
        assert await archive.get_run(run_id, "acme") == run


async def test_two_replicas_archiving_the_same_runs_at_once_agree_and_never_deadlock(
    engine: AsyncEngine, make_run: RunFactory
) -> None:
    # Two archiver replicas, each with its own group commit and connection, get the same
    # runs in different orders (redeliveries land on either); their batches touch the same
    # run and step rows at once.
    events = [e for n in range(6) for e in make_run(f"run-{n}", steps=4)]
    replicas = [PostgresArchive(engine), PostgresArchive(engine)]
    try:
        orders = [random.Random(seed).sample(events, k=len(events)) for seed in (1, 2)]
        stored = await asyncio.gather(
            *(r.record(e) for r, order in zip(replicas, orders, strict=True) for e in order)
        )
    finally:
        for replica in replicas:
            await replica.close()
    assert sum(stored) == len(events), "each event stored once, by one replica or the other"
    assert await _count(engine, "SELECT count(*) FROM events") == len(events)
    reader = PostgresArchive(engine)
    try:
        for run_id, run in fold(events).items():
            assert await reader.get_run(run_id, "acme") == run
    finally:
        await reader.close()


async def test_a_batch_with_an_event_archived_before_stores_only_the_new_ones(
    archive: PostgresArchive, engine: AsyncEngine, make_run: RunFactory
) -> None:
    events = make_run(steps=3)
    assert await archive.record(events[0])
    outcomes = await asyncio.gather(*(archive.record(e) for e in events[:4]))
    assert outcomes == [False, True, True, True]
    assert await _count(engine, "SELECT count(*) FROM events") == 4
    assert await archive.get_run("run-1", "acme") == fold(events[:4])["run-1"]


async def test_a_refused_event_fails_alone_and_its_batch_is_archived(
    archive: PostgresArchive,
    make_run: RunFactory,
    jsonb_refused: Callable[[RunEvent], StepCompleted],
) -> None:
    events = make_run(steps=2, retry=False)
    bad = jsonb_refused(events[0])
    batch = [*events[:3], bad, *events[3:]]
    outcomes = await asyncio.gather(*(archive.record(e) for e in batch), return_exceptions=True)
    refused = outcomes.pop(3)
    assert isinstance(refused, InvalidMessage)
    assert (refused.run_id, refused.step_id) == ("run-1", "s1")
    assert outcomes == [True] * len(events)
    assert await archive.get_run("run-1", "acme") == fold(events)["run-1"]


async def test_a_lost_connection_is_replaced_without_failing_the_write(
    archive: PostgresArchive, engine: AsyncEngine, make_run: RunFactory
) -> None:
    events = make_run(steps=2, retry=False)
    assert await archive.record(events[0])
    # Every other session of the database ends, the writer's among them (as on a restart).
    async with engine.connect() as conn:
        ended = await conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        assert ended.scalar_one() >= 1
    assert [await archive.record(e) for e in events[1:]] == [True] * (len(events) - 1)
    assert await archive.get_run("run-1", "acme") == fold(events)["run-1"]
