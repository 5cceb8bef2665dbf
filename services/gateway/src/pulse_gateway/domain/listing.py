"""Listing a tenant's runs: the query, its opaque cursor, and merging archived with live runs.

Runs are listed newest first by `(created_at, run_id)`. The archive answers most of a page;
runs it has not seen yet (just submitted, or the archiver is behind) come from the live
state, and for a run both know, the live state is fresher. The cursor is the sort key of
the last run shown, so a page is stable however many runs arrive meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from pulse_contracts import RunState, RunStatus

__all__ = [
    "CURSOR_PATTERN",
    "MAX_PAGE",
    "Cursor",
    "InvalidCursorError",
    "RunPage",
    "RunQuery",
    "merge_page",
    "overlay",
]

MAX_PAGE: Final = 100


class InvalidCursorError(ValueError):
    """The cursor was not one this API handed out."""


CURSOR_PATTERN: Final = r"^[0-9]{1,17}\.[A-Za-z0-9_-]{1,64}$"
"""Every string of this shape is a cursor (`<µs since the epoch>.<run id>`), so a client
can never send one that is well-formed yet meaningless."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR: Final = re.compile(CURSOR_PATTERN)


@dataclass(frozen=True, order=True)
class Cursor:
    created_at: datetime
    run_id: str

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return f"{max(micros, 0)}.{self.run_id}"

    @classmethod
    def decode(cls, token: str) -> Cursor:
        if not _CURSOR.fullmatch(token):
            raise InvalidCursorError("not a cursor this API returned")
        micros, _, run_id = token.partition(".")
        return cls(_EPOCH + timedelta(microseconds=int(micros)), run_id)

    @classmethod
    def of(cls, state: RunState) -> Cursor:
        return cls(state.created_at, state.run_id)


def _aware(moment: datetime | None) -> datetime | None:
    # A time without a zone in a query means UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RunQuery:
    statuses: frozenset[RunStatus] = frozenset()
    """Empty: every status."""
    since: datetime | None = None
    """Created at or after (inclusive)."""
    until: datetime | None = None
    """Created before (exclusive)."""
    text: str | None = None
    """Case-insensitive substring of the prompt."""
    after: Cursor | None = None
    limit: int = 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "since", _aware(self.since))
        object.__setattr__(self, "until", _aware(self.until))
        object.__setattr__(self, "limit", max(1, min(self.limit, MAX_PAGE)))

    def matches(self, state: RunState) -> bool:
        if self.statuses and state.status not in self.statuses:
            return False
        if self.since is not None and state.created_at < self.since:
            return False
        if self.until is not None and state.created_at >= self.until:
            return False
        if self.text and self.text.casefold() not in state.prompt.casefold():
            return False
        return self.after is None or Cursor.of(state) < self.after


@dataclass(frozen=True)
class RunPage:
    runs: list[RunState] = field(default_factory=list)
    next_cursor: Cursor | None = None


def overlay(archived: RunState, live: RunState) -> RunState:
    """The archived run with the live state's newer progress. Its `created_at` stays the
    archive's, so the run keeps its place in the order the archive pages by."""
    if live.seq < archived.seq:
        return archived
    return live.model_copy(update={"created_at": archived.created_at})


def merge_page(archived: Sequence[RunState], live: Iterable[RunState], query: RunQuery) -> RunPage:
    """One page from the archive's rows and the live runs.

    `archived` is the archive's answer fetched `limit + 1` deep: a row past `limit` only
    says there is more, and nothing older than it may be shown yet (the archive rows in
    between were not read), so live runs older than it wait for a later page.
    """
    rows, probe = list(archived[: query.limit]), None
    if len(archived) > query.limit:
        probe = Cursor.of(archived[query.limit])
    by_id = {state.run_id: state for state in rows}
    for state in live:
        known = by_id.get(state.run_id)
        by_id[state.run_id] = state if known is None else overlay(known, state)
    ordered = sorted(
        (s for s in by_id.values() if query.matches(s) and (probe is None or Cursor.of(s) > probe)),
        key=Cursor.of,
        reverse=True,
    )
    page = ordered[: query.limit]
    if len(ordered) > query.limit:
        return RunPage(page, Cursor.of(page[-1]))
    if probe is None:
        return RunPage(page, None)
    # More in the archive: continue after the oldest run read, shown or not (a row the
    # live state moved out of the filter still counts as read).
    read = [Cursor.of(rows[-1]), *(Cursor.of(s) for s in page[-1:])]
    return RunPage(page, min(read))
