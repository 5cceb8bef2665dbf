"""The Alembic migrations against a real PostgreSQL, and the readiness check on top."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_archiver.adapters import (
    SchemaReadiness,
    create_archive_engine,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
    upgrade_sql,
)
from pulse_archiver.adapters.models import ArchiveBase


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_archive_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _model_drift(conn: Connection) -> list[object]:
    return list(
        compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), ArchiveBase.metadata
        )
    )


@pytest.mark.postgres
async def test_upgrade_downgrade_upgrade(engine: AsyncEngine) -> None:
    assert await current_revision(engine) is None

    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    async with engine.connect() as conn:
        assert {"runs", "steps", "events"} <= await conn.run_sync(_tables)
        indexes = await conn.run_sync(
            lambda c: {
                i["name"]: i["column_names"]
                for t in ("runs", "events")
                for i in inspect(c).get_indexes(t)
            }
        )
    assert indexes == {
        "ix_runs_tenant_created_at": ["tenant", "created_at"],
        "ix_events_run_id_seq": ["run_id", "seq"],
    }

    await downgrade(engine, "base")
    assert await current_revision(engine) is None
    async with engine.connect() as conn:
        assert not {"runs", "steps", "events"} & await conn.run_sync(_tables)

    await upgrade(engine)
    assert await current_revision(engine) == head_revision()


@pytest.mark.postgres
async def test_models_match_the_migrated_schema(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_model_drift) == []


@pytest.mark.postgres
async def test_readiness_needs_the_schema_at_head(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    ready = SchemaReadiness(engine)
    assert await ready() is False
    assert await ready() is False
    said = [r.getMessage() for r in caplog.records if "pulse-archiver migrate" in r.getMessage()]
    assert len(said) == 1  # logged when the state changed, not at every probe

    await upgrade(engine)
    assert await ready() is True
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    assert await ready() is False


async def test_readiness_fails_when_postgres_is_unreachable() -> None:
    engine = create_archive_engine("postgresql+asyncpg://postgres@127.0.0.1:9/pulse", timeout_s=1.0)
    try:
        assert await SchemaReadiness(engine, timeout_s=2.0)() is False
    finally:
        await engine.dispose()


def test_upgrade_sql_needs_no_database() -> None:
    out = io.StringIO()
    upgrade_sql("postgresql://nowhere.invalid/pulse", out)
    sql = out.getvalue()
    for table in ("runs", "steps", "events"):
        assert f"CREATE TABLE {table}" in sql
    assert "CREATE INDEX ix_events_run_id_seq ON events (run_id, seq)" in sql
