"""Values carried by reference, archived in a real PostgreSQL: the columns hold the
content, the events table the event as it travelled."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_archiver.adapters import PostgresArchive, read_stored
from pulse_broker import InMemoryBlobStore
from pulse_contracts import JsonValue, RunCompleted, RunEvent, StepCompleted

pytestmark = pytest.mark.postgres

RunFactory = Callable[..., list[RunEvent]]
BIG = "y" * (2 * 1024 * 1024)


async def test_a_stored_output_is_archived_with_its_content(
    engine: AsyncEngine, make_run: RunFactory
) -> None:
    blobs = InMemoryBlobStore()
    ref = await blobs.put_value("run-1/s1/1/output/k", {"text": BIG})
    events: list[RunEvent] = []
    for e in make_run(steps=1, retry=False):
        if isinstance(e, StepCompleted):
            e = e.model_copy(update={"output": None, "output_ref": ref})
        elif isinstance(e, RunCompleted):
            e = e.model_copy(update={"result": None, "result_refs": {"s1": ref}})
        events.append(e)
    archive = PostgresArchive(engine)
    for event in events:
        await archive.record(event, await read_stored(event, blobs))

    archived = await archive.get_run("run-1", "acme")
    assert archived is not None
    [step] = archived.steps
    expected: JsonValue = {"text": BIG}
    assert step.output == expected
    assert archived.run.result == expected
    async with engine.connect() as conn:
        payload = (
            await conn.execute(text("SELECT payload FROM events WHERE type = 'step.completed'"))
        ).scalar_one()
    assert payload["output"] is None
    assert payload["output_ref"]["key"] == ref.key
    await archive.close()


async def test_a_value_that_is_gone_is_archived_as_null(
    engine: AsyncEngine, make_run: RunFactory
) -> None:
    blobs = InMemoryBlobStore()
    ref = await blobs.put_value("run-1/s1/1/output/k", "soon gone")
    blobs.objects.clear()
    archive = PostgresArchive(engine)
    for e in make_run(steps=1, retry=False):
        if isinstance(e, StepCompleted):
            e = e.model_copy(update={"output": None, "output_ref": ref})
        assert await archive.record(e, await read_stored(e, blobs))
    archived = await archive.get_run("run-1", "acme")
    assert archived is not None
    assert archived.steps[0].output is None
    await archive.close()
