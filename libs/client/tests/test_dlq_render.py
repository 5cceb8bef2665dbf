"""How letters look in a terminal, and what a replay sends (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from pulse_client import StoredLetter
from pulse_client.dlq import REPLAYED_FROM_HEADER, replay_headers
from pulse_client.dlq_cli import render_letter, render_letters
from pulse_contracts import DeadLettered, ErrorCode, ErrorInfo, subjects


def _stored(letter_id: int, consumer: str = "planner", message: str = "bad") -> StoredLetter:
    return StoredLetter(
        id=letter_id,
        stored_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        letter=DeadLettered(
            message_id=f"PULSE_RUNS:{letter_id}:dlq",
            consumer=consumer,
            original_subject=subjects.RUNS_REQUESTED,
            error=ErrorInfo(code=ErrorCode.INVALID_MESSAGE, message=message, run_id="r-1"),
            headers={
                "Nats-Msg-Id": "run:r-1:requested",
                "Nats-Expected-Stream": "PULSE_RUNS",
                "traceparent": "00-a-b-01",
            },
            payload='{"run_id": "r-1"}',
        ),
    )


def test_table_has_one_aligned_row_per_letter_and_says_how_to_page() -> None:
    text = render_letters([_stored(3), _stored(12, "executor-plans", "x" * 200)], total=5)
    header, first, second, footer = text.splitlines()
    assert header.index("CONSUMER") == first.index("planner") == second.index("executor-plans")
    assert first.startswith("3   2026-01-02 03:04:05")
    assert second.endswith("…")  # long messages are cut
    assert footer == "(2 of 5 letters; next page: --after 12)"
    assert render_letters([], total=0) == "no dead letters (0 in total)"


def test_one_letter_in_full_keeps_every_line_of_the_error() -> None:
    text = render_letter(_stored(3, message="first line\nsecond line"))
    assert "error:    invalid_message (run=r-1)" in text
    assert "            first line\n            second line" in text
    assert "traceparent: 00-a-b-01" in text
    assert text.endswith('{"run_id": "r-1"}')


def test_json_form_carries_the_id_and_the_whole_letter() -> None:
    body = _stored(3).to_json()
    assert body["id"] == 3
    assert body["stored_at"] == "2026-01-02T03:04:05+00:00"
    assert body["consumer"] == "planner"
    assert body["error"] == {
        "code": "invalid_message",
        "message": "bad",
        "run_id": "r-1",
        "step_id": None,
        "retryable": False,
    }


def test_replay_drops_server_headers_and_gets_its_own_message_id() -> None:
    headers = replay_headers(_stored(3).letter, 3)
    assert headers == {
        "traceparent": "00-a-b-01",
        "Nats-Msg-Id": "PULSE_DLQ:3:replay",
        REPLAYED_FROM_HEADER: "PULSE_DLQ:3",
    }
