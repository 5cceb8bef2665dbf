"""A deterministic LLM provider that needs no key and no network: the default.

The same prompt, model and token limit always give the same text, so runs, tests and
demos are reproducible. The text names the prompt's key words, so a reader can see
which prompt it answered; tokens are estimated at four characters each.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from typing import Final

from pulse_agent_adapter.domain.llm import Completion
from pulse_contracts import ChatMessage, Usage

__all__ = ["OfflineProvider", "estimate_tokens"]

_CHARS_PER_TOKEN: Final = 4
_KEY_WORDS: Final = 5
# Words of three letters or more, and numbers: what a prompt is about.
_WORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9'-]{2,}|\d+(?:\.\d+)?")
# Words too common to say what a prompt is about.
_COMMON = """the and for with that this from into then than what which when where who why how
are was were been being have has had does did will would should could can may might must
shall about above after again all any both each few more most other some such only own same
too very just also not nor but our your their its his her they them you she him please
give make tell write short"""
_STOP_WORDS: Final = frozenset(_COMMON.split())
_TEMPLATES: Final = (
    "Offline answer about {topics}: this is a deterministic stand-in for a model reply.",
    "Here is a short note on {topics}, written by the offline provider without a network.",
    "In brief, the request concerns {topics}. This reply is generated offline and is reproducible.",
    "Summary of {topics}: the offline provider answers every prompt the same way each time.",
)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / _CHARS_PER_TOKEN)


def _key_words(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if word not in _STOP_WORDS:
            seen.setdefault(word, None)
        if len(seen) == _KEY_WORDS:
            break
    return list(seen)


def _topics(words: list[str]) -> str:
    if not words:
        return "your prompt"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


class OfflineProvider:
    """`latency_s` makes each answer take that long, like a remote model would."""

    name = "offline"

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s

    async def complete(
        self, messages: list[ChatMessage], model: str, max_tokens: int
    ) -> Completion:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        prompt = next((m.content for m in reversed(messages) if m.role == "user"), "")
        digest = hashlib.sha256(f"{model}\n{prompt}".encode()).digest()
        template = _TEMPLATES[digest[0] % len(_TEMPLATES)]
        text = template.format(topics=_topics(_key_words(prompt)))
        text = text[: max_tokens * _CHARS_PER_TOKEN]
        usage = Usage(
            prompt_tokens=sum(estimate_tokens(m.content) for m in messages),
            completion_tokens=estimate_tokens(text),
            cost_usd=0.0,
        )
        return Completion(text=text, usage=usage, model=model, provider=self.name)
