"""How a row already archived and the row one event implies combine — in any arrival order.

Events reach the archiver out of order (parallel workers, redeliveries), so every column
has a rule that is commutative and idempotent: folding a run's events in any order, with
any repeats, gives the same row. The rules are data, so the PostgreSQL adapter renders
the very same ones as an `INSERT ... ON CONFLICT DO UPDATE` and the in-memory archive
applies them with `merge`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from pulse_archiver.domain.rows import RunRow, StepRow

__all__ = [
    "EARLIEST",
    "FILL",
    "GREATEST",
    "KEY",
    "RUN_RULES",
    "STEP_RULES",
    "Earliest",
    "Fill",
    "Greatest",
    "Key",
    "Newest",
    "NewestPresent",
    "Rule",
    "merge",
]


@dataclass(frozen=True)
class Key:
    """Part of the primary key: never changes."""


@dataclass(frozen=True)
class Fill:
    """A fact every event that carries it agrees on: keep it once known, fill it if missing."""


@dataclass(frozen=True)
class Earliest:
    """The smallest value seen (NULLs ignored)."""


@dataclass(frozen=True)
class Greatest:
    """The largest value seen (NULLs ignored)."""


@dataclass(frozen=True)
class Newest:
    """The value from the row whose `guard` column is strictly greater: the newest event wins."""

    guard: str


@dataclass(frozen=True)
class NewestPresent:
    """A non-NULL incoming value wins if the stored one is NULL or its `guard` is not newer.

    For a field only some events carry (a step's input comes with each dispatch, not with
    its result): the latest attempt's value wins whichever event of that attempt came first.
    """

    guard: str


Rule = Key | Fill | Earliest | Greatest | Newest | NewestPresent

KEY = Key()
FILL = Fill()
EARLIEST = Earliest()
GREATEST = Greatest()

_BY_RUN_EVENT = Newest("state_seq")
_BY_EVENT = Newest("last_seq")

RUN_RULES: Mapping[str, Rule] = {
    "run_id": KEY,
    "tenant": FILL,
    "prompt": FILL,
    "planner": FILL,
    "plan": FILL,
    "trace_id": FILL,
    "status": _BY_RUN_EVENT,
    "result": _BY_RUN_EVENT,
    "error": _BY_RUN_EVENT,
    "prompt_tokens": _BY_RUN_EVENT,
    "completion_tokens": _BY_RUN_EVENT,
    "cost_usd": _BY_RUN_EVENT,
    "created_at": EARLIEST,
    "updated_at": _BY_EVENT,
    "last_seq": GREATEST,
    "state_seq": GREATEST,
}

STEP_RULES: Mapping[str, Rule] = {
    "run_id": KEY,
    "step_id": KEY,
    "tool": FILL,
    "status": _BY_EVENT,
    "attempt": _BY_EVENT,
    "input": NewestPresent("attempt"),
    "output": _BY_EVENT,
    "error": _BY_EVENT,
    "prompt_tokens": _BY_EVENT,
    "completion_tokens": _BY_EVENT,
    "cost_usd": _BY_EVENT,
    "started_at": _BY_EVENT,
    "finished_at": _BY_EVENT,
    "duration_ms": _BY_EVENT,
    "last_seq": GREATEST,
}

Row = TypeVar("Row", RunRow, StepRow)


def _combine(rule: Rule, name: str, stored: Any, incoming: Any) -> Any:
    old, new = getattr(stored, name), getattr(incoming, name)
    match rule:
        case Key():
            return old
        case Fill():
            return new if old is None else old
        case Earliest():
            return new if old is None else old if new is None else min(old, new)
        case Greatest():
            return new if old is None else old if new is None else max(old, new)
        case Newest(guard=guard):
            return new if getattr(incoming, guard) > getattr(stored, guard) else old
        case NewestPresent(guard=guard):
            fresher = old is None or getattr(incoming, guard) >= getattr(stored, guard)
            return new if new is not None and fresher else old


def _rules_for(row: RunRow | StepRow) -> Mapping[str, Rule]:
    return RUN_RULES if isinstance(row, RunRow) else STEP_RULES


def merge(stored: Row, incoming: Row) -> Row:
    """The row after applying `incoming` (what one event says) to `stored` (the archive).

    Every rule reads the *stored* values only, exactly like the SET clause of an upsert.
    """
    if type(stored) is not type(incoming):
        raise TypeError(f"cannot merge {type(incoming).__name__} into {type(stored).__name__}")
    rules = _rules_for(stored)
    missing = {f.name for f in fields(stored)} - rules.keys()
    if missing:  # a column without a rule would silently keep its first value forever
        raise LookupError(f"no merge rule for {sorted(missing)}")
    return replace(
        stored, **{name: _combine(rule, name, stored, incoming) for name, rule in rules.items()}
    )
