"""The `text.extract_code` tool: the fenced code blocks of a text (an LLM's answer, say).

Markdown fences of three or more backticks or tildes, with an optional language tag. An
unterminated last fence (a reply cut off by its token limit) still yields its code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from pulse_agent_adapter.domain.tools import ToolContext, parse_input
from pulse_contracts import JsonValue

__all__ = ["CodeBlock", "ExtractCodeInput", "ExtractCodeTool", "extract_code_blocks"]

MAX_TEXT_CHARS: Final = 500_000
_FENCE: Final = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


@dataclass(frozen=True)
class CodeBlock:
    language: str | None
    code: str


def extract_code_blocks(text: str) -> list[CodeBlock]:
    blocks: list[CodeBlock] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening.group("fence")
        info = opening.group("info").strip()
        language = info.split()[0].lower() if info else None
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if (
                closing is not None
                and closing.group("fence")[0] == fence[0]
                and len(closing.group("fence")) >= len(fence)
                and not closing.group("info").strip()
            ):
                break
            body.append(lines[i])
            i += 1
        blocks.append(CodeBlock(language=language, code="\n".join(body)))
        i += 1
    return blocks


class ExtractCodeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT_CHARS, description="Text with fenced code blocks.")
    language: str | None = Field(
        default=None,
        max_length=32,
        description="Only blocks tagged with this language (case-insensitive).",
    )


class ExtractCodeTool:
    name = "text.extract_code"
    version = "1.0.0"
    inline = True  # one regular-expression pass over a bounded text; never waits
    description = (
        "Extract the fenced code blocks (```lang ... ```) of a text; `code` is the first "
        "matching block, `blocks` all of them."
    )
    output_schema: dict[str, JsonValue] = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "language": {"type": ["string", "null"]},
            "blocks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "language": {"type": ["string", "null"]},
                        "code": {"type": "string"},
                    },
                    "required": ["language", "code"],
                },
            },
        },
        "required": ["code", "language", "blocks"],
    }

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return ExtractCodeInput.model_json_schema()

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        args = parse_input(ExtractCodeInput, input, ctx)
        blocks = extract_code_blocks(args.text)
        if args.language is not None:
            wanted = args.language.lower()
            blocks = [b for b in blocks if b.language == wanted]
        first = blocks[0] if blocks else None
        return {
            "code": first.code if first else "",
            "language": first.language if first else None,
            "blocks": [{"language": b.language, "code": b.code} for b in blocks],
        }
