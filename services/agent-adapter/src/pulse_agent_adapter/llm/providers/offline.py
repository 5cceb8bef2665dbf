"""A deterministic LLM provider that needs no key and no network: the default.

The same prompt, model and token limit always give the same text, so runs, tests and
demos are reproducible. The text names the prompt's key words, so a reader can see
which prompt it answered; tokens are estimated at four characters each. It streams too
(word by word), so every code path of the gateway runs offline.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Final

from pulse_agent_adapter.domain.llm import (
    ChatRequest,
    Completion,
    Deadline,
    StreamDelta,
    StreamEnd,
    StreamEvent,
)
from pulse_agent_adapter.llm.accounting.tokens import CHARS_PER_TOKEN, estimate_tokens
from pulse_contracts import ChatMessage, Usage

__all__ = ["OfflineProvider"]

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

    kind = "offline"

    def __init__(self, latency_s: float = 0.0, *, name: str = "offline") -> None:
        self.latency_s = latency_s
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def aclose(self) -> None:
        return None

    async def complete(
        self, messages: list[ChatMessage], model: str, max_tokens: int
    ) -> Completion:
        """The answer to `messages` (the call the walking skeleton made; kept for callers
        that compute the expected offline text)."""
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return self._answer(messages, model, max_tokens)

    async def chat(self, request: ChatRequest, deadline: Deadline) -> Completion:
        return await self.complete(list(request.messages), request.model, request.max_tokens)

    async def stream(self, request: ChatRequest, deadline: Deadline) -> AsyncIterator[StreamEvent]:
        done = await self.chat(request, deadline)
        words = done.text.split(" ")
        for i, word in enumerate(words):
            yield StreamDelta(word if i == len(words) - 1 else word + " ")
        yield StreamEnd(finish_reason=done.finish_reason, usage=done.usage)

    def _answer(self, messages: list[ChatMessage], model: str, max_tokens: int) -> Completion:
        prompt = next((m.content for m in reversed(messages) if m.role == "user"), "")
        digest = hashlib.sha256(f"{model}\n{prompt}".encode()).digest()
        template = _TEMPLATES[digest[0] % len(_TEMPLATES)]
        full = template.format(topics=_topics(_key_words(prompt)))
        text = full[: max_tokens * CHARS_PER_TOKEN]
        usage = Usage(
            prompt_tokens=sum(estimate_tokens(m.content) for m in messages),
            completion_tokens=estimate_tokens(text),
            cost_usd=0.0,
        )
        return Completion(
            text=text,
            usage=usage,
            model=model,
            provider=self._name,
            finish_reason="length" if len(text) < len(full) else "stop",
        )
