"""The PostgreSQL archive against a real server: rows, idempotency, order, reads."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_archiver.adapters import PostgresArchive, create_archive_engine, upgrade
from pulse_archiver.domain import fold
from pulse_contracts import (
    InvalidMessage,
    RunEvent,
    RunStatus,
    StepCompleted,
    StepStatus,
)

pytestmark = pytest.mark.postgres

RunFactory = Callable[..., list[RunEvent]]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def _table(engine: AsyncEngine, table: str, order: str) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
        return [dict(r._mapping) for r in rows]


async def _snapshot(engine: AsyncEngine) -> tuple[list[dict[str, object]], ...]:
    runs = await _table(engine, "runs", "run_id")
    steps = await _table(engine, "steps", "run_id, step_id")
    events = await _table(engine, "events", "event_id")
    for event in events:
        event.pop("archived_at")
    return runs, steps, events


async def test_a_full_run(
    archive: PostgresArchive, engine: AsyncEngine, run_events: list[RunEvent]
) -> None:
    assert [await archive.record(e) for e in run_events] == [True] * len(run_events)

    archived = await archive.get_run("run-1", "acme")
    assert archived is not None
    run = archived.run
    assert run.status is RunStatus.COMPLETED
    assert run.trace_id == TRACE_ID
    assert run.result == {"s3": 9}
    assert (run.prompt_tokens, run.completion_tokens, run.cost_usd) == (30, 15, 0.00045)
    assert run.planner == "rule-based"
    assert [s.step_id for s in archived.steps] == ["s1", "s2", "s3"]
    assert [s.status for s in archived.steps] == [StepStatus.COMPLETED] * 3
    assert [s.attempt for s in archived.steps] == [2, 1, 1]
    assert archived.steps[2].input == {"expression": "3 + 6"}
    assert archived.steps[2].duration_ms == pytest.approx(200.0)
    # The archive and the domain's reference fold agree column for column.
    assert archived == fold(run_events)["run-1"]

    events = await _table(engine, "events", "seq")
    assert [e["event_id"] for e in events] == [e.message_id for e in run_events]
    assert {e["trace_id"] for e in events} == {TRACE_ID}
    assert events[-1]["type"] == "run.completed"
    assert events[-1]["payload"] == run_events[-1].model_dump(mode="json")


async def test_repeated_and_shuffled_events_give_identical_rows(
    database_url: str, make_run: RunFactory
) -> None:
    events = make_run(steps=4, retry=True) + make_run("run-2", steps=2, retry=False)
    snapshots = []
    for seed in range(4):
        engine = create_archive_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("DROP TABLE IF EXISTS events, steps, runs, api_keys, alembic_version")
                )
            await upgrade(engine)
            archive = PostgresArchive(engine)
            replayed = events + events
            random.Random(seed).shuffle(replayed)
            new = [await archive.record(e) for e in replayed]
            assert sum(new) == len(events)  # each event stored once, repeats report False
            assert await _count(engine, "SELECT count(*) FROM events") == len(events)
            snapshots.append(await _snapshot(engine))
            expected = fold(events)
            for run_id in ("run-1", "run-2"):
                assert await archive.get_run(run_id, "acme") == expected[run_id]
            await archive.close()
        finally:
            await engine.dispose()
    assert all(s == snapshots[0] for s in snapshots[1:])


async def test_concurrent_events_of_one_run(
    archive: PostgresArchive, engine: AsyncEngine, make_run: RunFactory
) -> None:
    # Parallel workers (and replicas) archive events of the same run at once.
    events = make_run(steps=8, retry=True)
    results = await asyncio.gather(*(archive.record(e) for e in events + events))
    assert sum(results) == len(events)
    assert await archive.get_run("run-1", "acme") == fold(events)["run-1"]


async def test_tenants_and_listing(archive: PostgresArchive, make_run: RunFactory) -> None:
    first = make_run("run-a", tenant="acme")
    start = first[0].occurred_at
    second = make_run("run-b", tenant="acme", start=start + timedelta(minutes=1))
    other = make_run("run-c", tenant="globex", start=start + timedelta(minutes=2))
    for event in first + second + other:
        await archive.record(event)

    assert await archive.get_run("run-c", "acme") is None  # another tenant's run
    assert await archive.get_run("nope", "acme") is None
    assert [r.run_id for r in await archive.list_runs("acme")] == ["run-b", "run-a"]
    assert [r.run_id for r in await archive.list_runs("acme", limit=1)] == ["run-b"]
    newest = (await archive.list_runs("acme", limit=1))[0]
    page = await archive.list_runs("acme", before=newest.created_at)
    assert [r.run_id for r in page] == ["run-a"]
    assert [r.run_id for r in await archive.list_runs("globex")] == ["run-c"]
    with pytest.raises(ValueError, match="limit"):
        await archive.list_runs("acme", limit=0)


async def test_content_the_database_refuses_is_a_poison_message(
    archive: PostgresArchive,
    engine: AsyncEngine,
    run_events: list[RunEvent],
    jsonb_refused: Callable[[RunEvent], StepCompleted],
) -> None:
    bad = jsonb_refused(run_events[0])
    with pytest.raises(InvalidMessage) as caught:
        await archive.record(bad)
    assert (caught.value.run_id, caught.value.step_id) == ("run-1", "s1")
    assert await _count(engine, "SELECT count(*) FROM events") == 0  # nothing half-written
