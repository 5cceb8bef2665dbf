"""Reading a `text/event-stream` (Server-Sent Events) line by line."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

__all__ = ["ServerSentEvent", "parse_sse"]


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    """`message` when the server named no type."""
    data: str
    id: str | None = None


async def parse_sse(lines: AsyncIterable[str]) -> AsyncIterator[ServerSentEvent]:
    """Events from the stream's lines, as the HTML standard dispatches them: fields until
    a blank line, comments (`:`) ignored, an event without data dropped."""
    event, last_id = "", None
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\x00" not in value:
            last_id = value
    if data:
        yield ServerSentEvent(event or "message", "\n".join(data), last_id)
