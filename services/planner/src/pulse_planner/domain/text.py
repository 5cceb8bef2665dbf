"""Cutting a goal into fragments at "then", ",", ";" and "and" — but never inside quotes.

Quoted text is data the user wants kept verbatim, and an arithmetic expression may hold
commas or words in brackets, so separators inside `"..."`, `“...”`, `'...'`, `( ... )`
and digit-comma-digit (`1,000`) do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["Fragment", "Separator", "protected_mask", "split_fragments", "unquote"]


class Separator(StrEnum):
    """What came before a fragment: the goal's start, a clause break or a "then" barrier."""

    START = "start"
    CLAUSE = "clause"
    THEN = "then"


@dataclass(frozen=True)
class Fragment:
    text: str
    separator: Separator
    joint: str
    """The separator exactly as written, to glue a fragment back onto the previous one."""


# "then" needs a comma, semicolon or whitespace before it and whitespace after it, so
# words like "authentication" never split; the THEN alternative is tried first so that
# ", then" is one barrier rather than a comma followed by "then ...".
_SEPARATOR: Final = re.compile(
    r"(?P<then>(?:\s*[,;]\s*|\s+)(?:and\s+)?then(?:\s*,)?\s+)"
    r"|(?P<clause>\s*[,;]\s*(?:and\s+)?|\s+and\s+)",
    re.IGNORECASE,
)
_QUOTE_PAIRS: Final = {'"': '"', "\u201c": "\u201d", "'": "'", "\u2018": "\u2019"}


def _closing_quote(text: str, start: int) -> int | None:
    """Index of the quote closing the one at `start`, or None if it is not a real quote."""
    opening = text[start]
    closing = _QUOTE_PAIRS[opening]
    if opening in "'\u2018" and start > 0 and text[start - 1].isalnum():
        return None  # an apostrophe: "don't", "Alice's"
    index = start + 1
    while (index := text.find(closing, index)) != -1:
        after = text[index + 1] if index + 1 < len(text) else ""
        if closing not in "'\u2019" or not after.isalnum():
            return index
        index += 1
    return None


def protected_mask(text: str) -> list[bool]:
    """For each character: is it inside quotes, brackets or a `1,000` number?"""
    mask = [False] * len(text)
    index, depth = 0, 0
    while index < len(text):
        char = text[index]
        if char in _QUOTE_PAIRS and depth == 0:
            end = _closing_quote(text, index)
            if end is not None:
                mask[index : end + 1] = [True] * (end + 1 - index)
                index = end + 1
                continue
        if char == "(":
            depth += 1
        elif char == ")" and depth > 0:
            depth -= 1
            mask[index] = True
        elif (
            char == ","
            and 0 < index < len(text) - 1
            and text[index - 1].isdigit()
            and text[index + 1].isdigit()
        ):
            mask[index] = True
        if depth > 0:
            mask[index] = True
        index += 1
    return mask


def split_fragments(goal: str) -> list[Fragment]:
    """The goal's pieces between separators, each with the kind of separator before it.

    Empty pieces (", ,") disappear; a "then" before an empty piece carries over to the
    next one, so the barrier is never lost.
    """
    mask = protected_mask(goal)
    fragments: list[Fragment] = []
    start, pending, joint = 0, Separator.START, ""
    for match in _SEPARATOR.finditer(goal):
        if any(mask[match.start() : match.end()]):
            continue
        piece = goal[start : match.start()].strip()
        if piece:
            fragments.append(Fragment(piece, pending, joint))
            pending, joint = Separator.START, ""
        kind = Separator.THEN if match.group("then") else Separator.CLAUSE
        if pending is not Separator.THEN:
            pending = kind if fragments else Separator.START
        joint += match.group(0)
        start = match.end()
    piece = goal[start:].strip()
    if piece:
        fragments.append(Fragment(piece, pending, joint))
    return fragments


def unquote(text: str) -> str:
    """`"buy milk"` -> `buy milk`; text that is not wholly quoted is returned unchanged."""
    text = text.strip()
    if len(text) >= 2 and text[0] in _QUOTE_PAIRS and _closing_quote(text, 0) == len(text) - 1:
        return text[1:-1].strip()
    return text
