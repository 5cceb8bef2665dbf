"""The rows a batch of events writes in one transaction, in the order that keeps them exact.

Applying a batch must give the same rows as applying its events one at a time. Rows of one
table may be merged among themselves before they meet the stored row only if every rule of
the table is associative — `merge(merge(s, a), b) == merge(s, merge(a, b))`. The run rules
are, so a batch writes each run once however many of its events it holds. The step rules
are not: a step's `input` follows the newest attempt, and `attempt` is itself the newest
event's, so a late dispatch of an old attempt merged ahead with the next attempt's result
would carry the old input past the stored newer one. Step rows are therefore written one
after another in the order their events came, as before.

Rows are sorted by key, so transactions of two replicas lock shared rows in the same order
and cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pulse_archiver.domain.merge import (
    RUN_RULES,
    STEP_RULES,
    Earliest,
    Fill,
    Greatest,
    Key,
    Newest,
    Rule,
    merge,
)
from pulse_archiver.domain.projection import Projection
from pulse_archiver.domain.rows import RunRow, StepRow

__all__ = ["BatchRows", "associative", "batch_rows"]

Row = TypeVar("Row", RunRow, StepRow)


def associative(rules: Mapping[str, Rule]) -> bool:
    """True if rows under `rules` may be merged among themselves before the stored row.

    Keys, fills, minima and maxima are associative; "the newest wins" is too when its guard
    only grows (a `Greatest` column): the row with the strictly largest guard, the first
    of them on ties, wins however the merges are grouped. `NewestPresent` is not.
    """

    def grouping_free(rule: Rule) -> bool:
        match rule:
            case Key() | Fill() | Earliest() | Greatest():
                return True
            case Newest(guard=guard):
                return isinstance(rules.get(guard), Greatest)
        return False

    return all(grouping_free(rule) for rule in rules.values())


@dataclass(frozen=True)
class BatchRows:
    """What a batch writes: rows sorted by key; repeated keys in the order events came."""

    runs: tuple[RunRow, ...]
    steps: tuple[StepRow, ...]


def _key(rules: Mapping[str, Rule]) -> tuple[str, ...]:
    return tuple(name for name, rule in rules.items() if isinstance(rule, Key))


_RUN_KEY = _key(RUN_RULES)
_STEP_KEY = _key(STEP_RULES)
# Decided once: the rules are constants.
_RUNS_AHEAD = associative(RUN_RULES)
_STEPS_AHEAD = associative(STEP_RULES)


def _in_write_order(
    rows: Sequence[Row], key: tuple[str, ...], *, merge_ahead: bool
) -> tuple[Row, ...]:
    def key_of(row: Row) -> tuple[str, ...]:
        return tuple(getattr(row, name) for name in key)

    if not merge_ahead:
        # `sorted` is stable: the rows of one key keep the order of their events.
        return tuple(sorted(rows, key=key_of))
    merged: dict[tuple[str, ...], Row] = {}
    for row in rows:
        k = key_of(row)
        stored = merged.get(k)
        merged[k] = row if stored is None else merge(stored, row)
    return tuple(merged[k] for k in sorted(merged))


def batch_rows(projections: Iterable[Projection]) -> BatchRows:
    """The rows of `projections` (new events, in arrival order) as one batch writes them."""
    runs: list[RunRow] = []
    steps: list[StepRow] = []
    for projection in projections:
        runs.append(projection.run)
        steps.extend(projection.steps)
    return BatchRows(
        runs=_in_write_order(runs, _RUN_KEY, merge_ahead=_RUNS_AHEAD),
        steps=_in_write_order(steps, _STEP_KEY, merge_ahead=_STEPS_AHEAD),
    )
