"""`text.repeat`: a text repeated n times — harmless, deterministic, and as large as asked
(up to `MAX_OUTPUT_BYTES`), which makes it the plain way to produce a large step output."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from pulse_agent_adapter.domain.tools import ToolContext, parse_input
from pulse_contracts import JsonValue

__all__ = ["MAX_OUTPUT_BYTES", "TextRepeatInput", "TextRepeatTool"]

MAX_OUTPUT_BYTES: Final = 8 * 1024 * 1024
"""The longest text the tool returns, in UTF-8 bytes."""


class TextRepeatInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="The text to repeat.")
    times: int = Field(ge=1, le=10_000_000, description="How many copies, joined with nothing.")


class TextRepeatTool:
    name = "text.repeat"
    inline = True  # one bounded string multiplication; never waits
    description = (
        "Return `text` repeated `times` times (at most 8 MiB of UTF-8), e.g. to produce "
        "a large output."
    )

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return TextRepeatInput.model_json_schema()

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        args = parse_input(TextRepeatInput, input, ctx)
        size = len(args.text.encode()) * args.times
        if size > MAX_OUTPUT_BYTES:
            raise ctx.failure(
                f"the result would be {size} bytes; the limit is {MAX_OUTPUT_BYTES} bytes"
            )
        return args.text * args.times
