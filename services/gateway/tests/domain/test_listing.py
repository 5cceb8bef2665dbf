"""Pages of runs: the cursor, the filters, and merging archived rows with live state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse_contracts import RunState, RunStatus
from pulse_gateway.domain import Cursor, InvalidCursorError, RunQuery, merge_page

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def run(
    n: int, *, status: RunStatus = RunStatus.COMPLETED, seq: int = 5, prompt: str = "calc"
) -> RunState:
    return RunState(
        run_id=f"r{n:02d}",
        tenant="t",
        prompt=f"{prompt} {n}",
        status=status,
        seq=seq,
        created_at=T0 + timedelta(seconds=n),
    )


def ids(states: list[RunState]) -> list[str]:
    return [s.run_id for s in states]


def test_cursors_round_trip_and_junk_is_refused() -> None:
    cursor = Cursor(T0, "abc")
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode("0.r1") == Cursor(datetime(1970, 1, 1, tzinfo=UTC), "r1")
    for junk in ("", "zzz", "12", "12.", "12.a.b", "-1.r", "1" * 18 + ".r", "1.r/x"):
        with pytest.raises(InvalidCursorError):
            Cursor.decode(junk)


def test_the_query_filters_and_clamps() -> None:
    query = RunQuery(
        statuses=frozenset({RunStatus.FAILED}),
        since=datetime(2025, 1, 1, 0, 0, 2),  # no zone: UTC
        until=T0 + timedelta(seconds=5),
        text="CALC",
        limit=1000,
    )
    assert query.limit == 100
    assert query.since == T0 + timedelta(seconds=2)
    assert query.matches(run(3, status=RunStatus.FAILED))
    assert not query.matches(run(3))  # status
    assert not query.matches(run(1, status=RunStatus.FAILED))  # before since
    assert not query.matches(run(5, status=RunStatus.FAILED))  # until is exclusive
    assert not query.matches(run(3, status=RunStatus.FAILED, prompt="other"))
    assert RunQuery(limit=0).limit == 1


def test_archived_pages_follow_the_cursor() -> None:
    archive = [run(n) for n in range(10, 0, -1)]  # newest first
    query = RunQuery(limit=3)
    first = merge_page(archive[:4], [], query)
    assert ids(first.runs) == ["r10", "r09", "r08"]
    assert first.next_cursor == Cursor.of(archive[2])
    after = [s for s in archive if Cursor.of(s) < first.next_cursor]
    second = merge_page(after[:4], [], RunQuery(limit=3, after=first.next_cursor))
    assert ids(second.runs) == ["r07", "r06", "r05"]
    last = merge_page(archive[-1:], [], RunQuery(limit=3))
    assert ids(last.runs) == ["r01"]
    assert last.next_cursor is None


def test_live_runs_fill_in_what_the_archive_lacks_and_update_what_it_has() -> None:
    archive = [run(5, status=RunStatus.WORKING, seq=2), run(4)]
    live = [run(6, status=RunStatus.SUBMITTED, seq=0), run(5, status=RunStatus.COMPLETED, seq=6)]
    live[1] = live[1].model_copy(update={"created_at": T0})  # the live clock differs a little
    page = merge_page(archive, live, RunQuery(limit=10))
    assert ids(page.runs) == ["r06", "r05", "r04"]
    assert page.runs[1].status is RunStatus.COMPLETED
    assert page.runs[1].created_at == T0 + timedelta(seconds=5)  # keeps the archive's place
    # An older live state never replaces a newer archived one.
    stale = merge_page([run(5, seq=9)], [run(5, status=RunStatus.WORKING, seq=3)], RunQuery())
    assert stale.runs[0].status is RunStatus.COMPLETED
    # The live state can move an archived run out of the filter.
    working = RunQuery(statuses=frozenset({RunStatus.WORKING}))
    assert ids(merge_page(archive, live, working).runs) == []


def test_live_runs_older_than_the_archive_page_wait_for_a_later_page() -> None:
    archive = [run(9), run(8), run(7)]  # limit 2, fetched 3 deep: r07 says "more"
    live = [run(1, status=RunStatus.SUBMITTED, seq=0), run(10, status=RunStatus.SUBMITTED, seq=0)]
    page = merge_page(archive, live, RunQuery(limit=2))
    assert ids(page.runs) == ["r10", "r09"]
    assert page.next_cursor == Cursor.of(page.runs[-1])
    # Nothing shown on a page that the live state filtered out: the cursor still moves on.
    page = merge_page(
        archive,
        [run(9, status=RunStatus.FAILED, seq=9), run(8, status=RunStatus.FAILED, seq=9)],
        RunQuery(limit=2, statuses=frozenset({RunStatus.COMPLETED})),
    )
    assert page.runs == []
    assert page.next_cursor == Cursor.of(archive[1])
