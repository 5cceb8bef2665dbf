"""The archive in PostgreSQL: events written in batches, reads through SQLAlchemy.

`record` hands its event to a group commit: one transaction at a time (`upserts.write_batch`)
stores every event that queued up meanwhile, keyed by event id, and applies only the new
ones to their run and step rows with upserts that follow the domain's merge rules — so
out-of-order and repeated events end in the same rows as when they were written one by one.
The writes borrow a pooled connection of the SQLAlchemy engine (its pre-ping finds a
restarted server) and speak asyncpg directly; reads go through SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime

import asyncpg
from opentelemetry import context as otel_context
from sqlalchemy import Table, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pulse_archiver.adapters.group_commit import GroupCommit
from pulse_archiver.adapters.held_connection import HeldConnection
from pulse_archiver.adapters.models import RunRecord, StepRecord
from pulse_archiver.adapters.spans import batch_write_span
from pulse_archiver.adapters.upserts import Incoming, write_batch
from pulse_archiver.domain import (
    ArchivedRun,
    RunRow,
    StepRow,
    StoredValues,
    order_steps,
    step_id_of,
)
from pulse_contracts import InvalidMessage, RunEvent, RunStatus, StepStatus

__all__ = ["PostgresArchive", "create_archive_engine"]

_RUNS: Table = RunRecord.__table__  # type: ignore[assignment]
_STEPS: Table = StepRecord.__table__  # type: ignore[assignment]


def create_archive_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 5, timeout_s: float = 5.0
) -> AsyncEngine:
    """An asyncpg engine whose pool survives a PostgreSQL restart (pre-ping on checkout)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=timeout_s,
        connect_args={"timeout": timeout_s},
    )


# SQLSTATE classes that depend on the data alone: 22 data exception, 54 limit exceeded.
_CONTENT_SQLSTATE_CLASSES = ("22", "54")


def _refuses_content(exc: Exception) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    return (
        isinstance(exc, asyncpg.PostgresError)
        and isinstance(sqlstate, str)
        and sqlstate.startswith(_CONTENT_SQLSTATE_CLASSES)
    )


def _run_row(record: RowMapping) -> RunRow:
    values = {f.name: record[f.name] for f in fields(RunRow)}
    values["status"] = RunStatus(values["status"])
    return RunRow(**values)


def _step_row(record: RowMapping) -> StepRow:
    values = {f.name: record[f.name] for f in fields(StepRow)}
    values["status"] = StepStatus(values["status"])
    return StepRow(**values)


class PostgresArchive:
    """`max_batch`: the most events one transaction writes (the consumer's `max_workers`
    bounds how many wait at once anyway)."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 256) -> None:
        self._engine = engine
        self._connection = HeldConnection(engine)
        self._commits: GroupCommit[Incoming, bool] = GroupCommit(
            self._write, max_batch=max_batch, alone=_refuses_content
        )

    async def record(self, event: RunEvent, stored: StoredValues | None = None) -> bool:
        try:
            return await self._commits.submit(
                Incoming(event, stored or {}, otel_context.get_current())
            )
        except asyncpg.PostgresError as exc:
            if not _refuses_content(exc):
                raise  # server down, serialization, schema missing...: redelivered later
            # Redelivering cannot help content the database refuses (a NUL character in
            # JSON, a value out of range): it goes to the dead-letter stream at once.
            raise InvalidMessage(
                f"the archive refused event {event.message_id}: {exc}",
                run_id=event.run_id,
                step_id=step_id_of(event),
            ) from exc

    async def close(self) -> None:
        """Finish the writes under way and give the writer's connection back to the pool;
        call before disposing of the engine."""
        await self._commits.settled()
        await self._connection.close()

    async def _write(self, batch: Sequence[Incoming]) -> list[bool]:
        with batch_write_span([i.event for i in batch], [i.context for i in batch]):
            return await self._connection.run(lambda conn: write_batch(conn, batch))

    async def get_run(self, run_id: str, tenant: str) -> ArchivedRun | None:
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(_RUNS).where(_RUNS.c.run_id == run_id, _RUNS.c.tenant == tenant)
                )
            ).first()
            if found is None:
                return None
            steps = await conn.execute(select(_STEPS).where(_STEPS.c.run_id == run_id))
            run = _run_row(found._mapping)
            return ArchivedRun(run, order_steps(run.plan, (_step_row(s._mapping) for s in steps)))

    async def list_runs(
        self, tenant: str, limit: int = 50, before: datetime | None = None
    ) -> list[RunRow]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = select(_RUNS).where(_RUNS.c.tenant == tenant)
        if before is not None:
            query = query.where(_RUNS.c.created_at < before)
        query = query.order_by(_RUNS.c.created_at.desc(), _RUNS.c.run_id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_run_row(r._mapping) for r in await conn.execute(query)]
