"""Finding the JSON document in an LLM's answer.

Models wrap JSON in Markdown fences, put a sentence before or after it, or answer with a
bare list of steps. The first JSON object that decodes is taken — preferring one with a
`steps` field — from, in order: the whole answer, each fenced block, and each `{` or `[`
in the text. Nothing is ever evaluated; it is only decoded as JSON.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Final

from pydantic import JsonValue

__all__ = ["MAX_ANSWER_CHARS", "extract_json", "extract_plan_document"]

MAX_ANSWER_CHARS: Final = 100_000
_MAX_OPENINGS: Final = 200
"""Brackets tried as the start of a document; bounds the work on a long, garbled answer."""
_FENCE: Final = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\r?\n(.*?)```", re.DOTALL)
_DECODER: Final = json.JSONDecoder()


def _candidates(text: str) -> Iterator[JsonValue]:
    stripped = text.strip()
    with contextlib.suppress(ValueError):
        yield json.loads(stripped)
    for block in _FENCE.finditer(text):
        try:
            yield json.loads(block.group(1))
        except ValueError:
            continue
    openings = (index for index, char in enumerate(text) if char in "{[")
    for _, index in zip(range(_MAX_OPENINGS), openings, strict=False):
        try:
            value, _end = _DECODER.raw_decode(text, index)
        except ValueError:
            continue
        yield value


def extract_json(text: str) -> JsonValue:
    """The first JSON object or array found in `text`; `ValueError` if there is none."""
    for value in _candidates(text[:MAX_ANSWER_CHARS]):
        if isinstance(value, dict | list):
            return value
    raise ValueError("the answer holds no JSON object")


def extract_plan_document(text: str) -> dict[str, JsonValue]:
    """The plan object in `text`: `{"steps": [...]}`, a `{"plan": {...}}` wrapper, or a
    bare list of steps. `ValueError` says what is missing."""
    fallback: dict[str, JsonValue] | None = None
    for value in _candidates(text[:MAX_ANSWER_CHARS]):
        if isinstance(value, dict):
            inner = value.get("plan")
            if "steps" not in value and isinstance(inner, dict) and "steps" in inner:
                value = inner
            if "steps" in value:
                return value
            fallback = fallback if fallback is not None else value
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return {"steps": value}
    if fallback is not None:
        return fallback  # validation then says that "steps" is missing
    raise ValueError("the answer holds no JSON object")
