"""`--since`/`--until` accept what an on-call engineer types: an age or an ISO time."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from pulse_client.runs_cli import parse_when

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_an_age_counts_back_from_now(text: str, age: timedelta) -> None:
    assert parse_when(text, now=NOW) == NOW - age


def test_an_iso_time_is_taken_as_written() -> None:
    assert parse_when("2026-11-21T02:47:13+00:00") == datetime(2026, 11, 21, 2, 47, 13, tzinfo=UTC)


@pytest.mark.parametrize("text", ["15", "m", "yesterday", "15 minutes", "-5m"])
def test_anything_else_is_a_clear_usage_error(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="ISO 8601"):
        parse_when(text, now=NOW)
