"""The archive's writes as SQL text, rendered once at import from the models and merge rules.

Nothing is built or compiled per event: asyncpg keeps each statement prepared on its
connection. Column types come from the SQLAlchemy models (the migrations' twins, checked by
a test) and the `ON CONFLICT DO UPDATE` clauses from `RUN_RULES` / `STEP_RULES`, the rules
the domain's `merge` applies — so the database and `History` fold rows alike.

Many rows travel as one array per column (`unnest`), so one statement takes a whole batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from pulse_archiver.adapters.models import EventRecord, RunRecord, StepRecord
from pulse_archiver.domain import RUN_RULES, STEP_RULES, Rule, RunRow, StepRow
from pulse_archiver.domain.merge import Earliest, Fill, Greatest, Key, Newest, NewestPresent
from pulse_contracts import RunEvent

__all__ = [
    "ARCHIVE_ALL_NEW",
    "EVENTS",
    "INSERT_NEW_EVENTS",
    "RUNS",
    "STEPS",
    "UPSERT_RUN",
    "UPSERT_STEP",
    "Columns",
    "as_arrays",
    "event_values",
    "row_values",
    "upsert_sql",
]

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Columns:
    """Columns of `table` in parameter order, with their SQL types; JSON ones flagged."""

    table: str
    names: tuple[str, ...]
    types: tuple[str, ...]
    json: tuple[bool, ...]

    @classmethod
    def of(cls, table: Table, names: Iterable[str]) -> Columns:
        chosen = [table.c[name] for name in names]
        return cls(
            table=table.name,
            names=tuple(c.name for c in chosen),
            types=tuple(c.type.compile(dialect=_DIALECT) for c in chosen),
            json=tuple(isinstance(c.type, JSONB) for c in chosen),
        )

    def listed(self) -> str:
        return ", ".join(map(_quoted, self.names))

    def arrays(self, first: int) -> str:
        """`unnest` over one array parameter per column, numbered from `first`."""
        params = (f"${first + i}::{kind}[]" for i, kind in enumerate(self.types))
        return f"SELECT * FROM unnest({', '.join(params)})"


def _quoted(name: str) -> str:
    return f'"{name}"'


def _merged(rule: Rule, table: str, name: str) -> str:
    """SQL for a column after the upsert; like `merge`, it reads the stored row only."""
    stored, incoming = f"{_quoted(table)}.{_quoted(name)}", f"EXCLUDED.{_quoted(name)}"
    match rule:
        case Key():
            return stored
        case Fill():
            return f"coalesce({stored}, {incoming})"
        case Earliest():  # least/greatest skip NULLs, as the domain's rules do
            return f"least({stored}, {incoming})"
        case Greatest():
            return f"greatest({stored}, {incoming})"
        case Newest(guard=guard):
            newer = f"EXCLUDED.{_quoted(guard)} > {_quoted(table)}.{_quoted(guard)}"
            return f"CASE WHEN {newer} THEN {incoming} ELSE {stored} END"
        case NewestPresent(guard=guard):
            fresher = f"EXCLUDED.{_quoted(guard)} >= {_quoted(table)}.{_quoted(guard)}"
            present = f"{incoming} IS NOT NULL AND ({stored} IS NULL OR {fresher})"
            return f"CASE WHEN {present} THEN {incoming} ELSE {stored} END"


def _on_conflict(table: str, rules: Mapping[str, Rule]) -> str:
    keys = ", ".join(_quoted(name) for name, rule in rules.items() if isinstance(rule, Key))
    updates = ", ".join(
        f"{_quoted(name)} = {_merged(rule, table, name)}"
        for name, rule in rules.items()
        if not isinstance(rule, Key)
    )
    return f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"


def upsert_sql(columns: Columns, rules: Mapping[str, Rule], *, first: int | None = None) -> str:
    """The upsert of one row (`$1`...), or with `first` of many as arrays from `$first`.

    Many rows in one statement must have distinct keys (PostgreSQL updates a row at most
    once per statement).
    """
    rows = (
        f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns.names) + 1))})"
        if first is None
        else columns.arrays(first)
    )
    return (
        f"INSERT INTO {_quoted(columns.table)} ({columns.listed()}) {rows} "
        f"{_on_conflict(columns.table, rules)}"
    )


_EVENT_NAMES: Final = (
    "event_id",
    "run_id",
    "seq",
    "type",
    "tenant",
    "trace_id",
    "occurred_at",
    "payload",
)
EVENTS: Final = Columns.of(EventRecord.__table__, _EVENT_NAMES)  # type: ignore[arg-type]
RUNS: Final = Columns.of(RunRecord.__table__, RUN_RULES)  # type: ignore[arg-type]
STEPS: Final = Columns.of(StepRecord.__table__, STEP_RULES)  # type: ignore[arg-type]

_EVENTS_FROM_ARRAYS: Final = f"INSERT INTO events ({EVENTS.listed()}) {EVENTS.arrays(1)}"

INSERT_NEW_EVENTS: Final = (
    # Duplicates, also inside the batch, are skipped; RETURNING names the events stored.
    f"{_EVENTS_FROM_ARRAYS} ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)
UPSERT_RUN: Final = upsert_sql(RUNS, RUN_RULES)
UPSERT_STEP: Final = upsert_sql(STEPS, STEP_RULES)

ARCHIVE_ALL_NEW: Final = (
    # One statement, so atomic without BEGIN/COMMIT round trips. No ON CONFLICT on the
    # events: one archived before fails the whole statement (unique violation), nothing is
    # written, and the caller takes the careful way. A step row may reference the run row
    # inserted beside it: foreign keys are checked at the end of the statement.
    f"WITH stored_events AS ({_EVENTS_FROM_ARRAYS} RETURNING 1), "
    f"stored_runs AS ({upsert_sql(RUNS, RUN_RULES, first=len(EVENTS.names) + 1)} RETURNING 1), "
    f"stored_steps AS ("
    f"{upsert_sql(STEPS, STEP_RULES, first=len(EVENTS.names) + len(RUNS.names) + 1)} RETURNING 1) "
    f"SELECT count(*) FROM stored_events"
)


def row_values(row: RunRow | StepRow, columns: Columns) -> tuple[object, ...]:
    """`row` as statement parameters: JSON as text (None is SQL NULL, as the models'
    `JSONB(none_as_null=True)` has it), enums as their values."""
    values: list[object] = []
    for name, is_json in zip(columns.names, columns.json, strict=True):
        value = getattr(row, name)
        if is_json:
            values.append(None if value is None else json.dumps(value))
        elif isinstance(value, StrEnum):
            values.append(value.value)
        else:
            values.append(value)
    return tuple(values)


def event_values(event: RunEvent) -> tuple[object, ...]:
    """`event` as a row of `events`, its payload the event as it travelled."""
    return (
        event.message_id,
        event.run_id,
        event.seq,
        event.type,
        event.tenant,
        event.trace_id,
        event.occurred_at,
        event.model_dump_json(),
    )


def as_arrays(rows: Sequence[tuple[object, ...]], columns: Columns) -> list[list[object]]:
    """Rows turned into one list per column, the parameters of `Columns.arrays`."""
    if not rows:
        return [[] for _ in columns.names]
    return [list(column) for column in zip(*rows, strict=True)]
