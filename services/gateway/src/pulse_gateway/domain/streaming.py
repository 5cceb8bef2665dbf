"""Following a run's events: when a stream is over, and how events look on the wire."""

from __future__ import annotations

import json
from typing import Final

from pulse_contracts import RunEvent

__all__ = [
    "TERMINAL_EVENT_TYPES",
    "is_terminal_event",
    "parse_resume_seq",
    "sse_comment",
    "sse_event",
    "ws_frame",
]

TERMINAL_EVENT_TYPES: Final = frozenset(
    {"run.completed", "run.failed", "run.canceled", "run.rejected"}
)


def is_terminal_event(event: RunEvent) -> bool:
    return event.type in TERMINAL_EVENT_TYPES


def parse_resume_seq(value: str | None) -> int:
    """`Last-Event-ID` (or `after_seq`) as the seq to continue after; junk means from the
    start, as a browser's EventSource would send only what we gave it."""
    if value is None:
        return 0
    text = value.strip()
    return int(text) if text.isdigit() and len(text) <= 18 else 0


def sse_event(event: RunEvent) -> bytes:
    """One Server-Sent Event: `id` is the run's event seq (what `Last-Event-ID` resumes
    from), `event` the type, `data` the event as published on the bus (one line of JSON)."""
    return (f"id: {event.seq}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n").encode()


def sse_comment(text: str) -> bytes:
    """A comment line: keeps proxies from closing an idle stream; clients ignore it."""
    return f": {text}\n\n".encode()


def ws_frame(event: RunEvent) -> str:
    """One WebSocket text frame: `{"seq", "type", "event"}`."""
    body = event.model_dump(mode="json")
    return json.dumps({"seq": event.seq, "type": event.type, "event": body}, separators=(",", ":"))
