"""A migrated archive on the real PostgreSQL of `pulse_stack.testing`, for the adapter tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_archiver.adapters import PostgresArchive, create_archive_engine, upgrade


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
