"""The archive in PostgreSQL: one transaction per event, upserts that follow the merge rules.

`record` inserts the event keyed by its id and stops there if it was archived before;
otherwise it upserts the run and step rows the event implies. The `ON CONFLICT DO UPDATE`
clauses are rendered from `RUN_RULES` / `STEP_RULES`, the same rules the domain's `merge`
applies, so out-of-order and repeated events end in the same rows. Concurrent events of one
run serialize on the run row, which every event upserts before its steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from pulse_archiver.adapters.models import EventRecord, RunRecord, StepRecord
from pulse_archiver.domain import (
    RUN_RULES,
    STEP_RULES,
    ArchivedRun,
    Rule,
    RunRow,
    StepRow,
    StoredValues,
    order_steps,
    project,
    step_id_of,
)
from pulse_archiver.domain.merge import Earliest, Fill, Greatest, Key, Newest, NewestPresent
from pulse_contracts import InvalidMessage, RunEvent, RunStatus, StepStatus

__all__ = ["PostgresArchive", "create_archive_engine"]

_RUNS: Table = RunRecord.__table__  # type: ignore[assignment]
_STEPS: Table = StepRecord.__table__  # type: ignore[assignment]
_EVENTS: Table = EventRecord.__table__  # type: ignore[assignment]


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


def _merged(rule: Rule, table: Table, excluded: Any, name: str) -> ColumnElement[Any]:
    stored, incoming = table.c[name], excluded[name]
    match rule:
        case Fill():
            return func.coalesce(stored, incoming)
        case Earliest():
            return func.least(stored, incoming)
        case Greatest():
            return func.greatest(stored, incoming)
        case Newest(guard=guard):
            return case((excluded[guard] > table.c[guard], incoming), else_=stored)
        case NewestPresent(guard=guard):
            fresher = or_(stored.is_(None), excluded[guard] >= table.c[guard])
            return case((and_(incoming.is_not(None), fresher), incoming), else_=stored)
        case Key():
            return stored


def _upsert(table: Table, rules: Mapping[str, Rule], rows: Sequence[RunRow | StepRow]) -> Any:
    statement = insert(table).values([_values(row) for row in rows])
    keys = [name for name, rule in rules.items() if isinstance(rule, Key)]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={
            name: _merged(rule, table, statement.excluded, name)
            for name, rule in rules.items()
            if not isinstance(rule, Key)
        },
    )


def _values(row: RunRow | StepRow) -> dict[str, object]:
    values: dict[str, object] = {}
    for field in fields(row):
        value = getattr(row, field.name)
        values[field.name] = value.value if isinstance(value, StrEnum) else value
    return values


# SQLSTATE classes that depend on the data alone: 22 data exception, 54 limit exceeded.
_CONTENT_SQLSTATE_CLASSES = ("22", "54")


def _refuses_content(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_CONTENT_SQLSTATE_CLASSES)


def _run_row(record: RowMapping) -> RunRow:
    values = {f.name: record[f.name] for f in fields(RunRow)}
    values["status"] = RunStatus(values["status"])
    return RunRow(**values)


def _step_row(record: RowMapping) -> StepRow:
    values = {f.name: record[f.name] for f in fields(StepRow)}
    values["status"] = StepStatus(values["status"])
    return StepRow(**values)


class PostgresArchive:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, event: RunEvent, stored: StoredValues | None = None) -> bool:
        projection = project(event, stored or {})
        try:
            async with self._engine.begin() as conn:
                if not await self._insert_event(conn, event):
                    return False
                await conn.execute(_upsert(_RUNS, RUN_RULES, [projection.run]))
                if projection.steps:
                    await conn.execute(_upsert(_STEPS, STEP_RULES, projection.steps))
                return True
        except DBAPIError as exc:
            if not _refuses_content(exc):
                raise  # connection lost, server down, serialization...: redelivered later
            # Redelivering cannot help content the database refuses (a NUL character in
            # JSON, a value out of range): it goes to the dead-letter stream at once.
            raise InvalidMessage(
                f"the archive refused event {event.message_id}: {exc.orig}",
                run_id=event.run_id,
                step_id=step_id_of(event),
            ) from exc

    @staticmethod
    async def _insert_event(conn: AsyncConnection, event: RunEvent) -> bool:
        statement = (
            insert(_EVENTS)
            .values(
                event_id=event.message_id,
                run_id=event.run_id,
                seq=event.seq,
                type=event.type,
                tenant=event.tenant,
                trace_id=event.trace_id,
                occurred_at=event.occurred_at,
                payload=event.model_dump(mode="json"),
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(_EVENTS.c.event_id)
        )
        return (await conn.execute(statement)).first() is not None

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
