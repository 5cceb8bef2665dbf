"""A migrated archive on the real PostgreSQL of `pulse_stack.testing`, for the adapter tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_archiver.adapters import PostgresArchive, create_archive_engine, upgrade
from pulse_contracts import RunEvent, StepCompleted, event_message_id


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh database at the schema's head revision."""
    engine = create_archive_engine(database_url, pool_size=8, max_overflow=8)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def archive(engine: AsyncEngine) -> AsyncIterator[PostgresArchive]:
    archive = PostgresArchive(engine)
    yield archive
    await archive.close()  # its writer's connection goes back before the engine is disposed


@pytest.fixture
def jsonb_refused() -> Callable[[RunEvent], StepCompleted]:
    """A valid event of run-1 whose output PostgreSQL refuses (a NUL in jsonb), timed as
    the given event."""

    def build(started: RunEvent) -> StepCompleted:
        return StepCompleted(
            message_id=event_message_id("run-1", "step.completed", "s1", 9),
            run_id="run-1",
            tenant="acme",
            seq=50,
            step_id="s1",
            attempt=9,
            tool="calculator",
            output="NUL \u0000 is not allowed in jsonb",
            started_at=started.occurred_at,
            finished_at=started.occurred_at,
        )

    return build
