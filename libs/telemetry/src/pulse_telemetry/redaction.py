"""What a log line must not show: secrets always, and prompts unless debug logging is on.

A field is secret when one of the words of its key names a credential (`authorization`,
`api_key`, `password`, `access_token`, `client_secret`, `cookie`...); its value is replaced
by a mask, however deep it sits in nested mappings and lists. Words, not substrings,
decide: `prompt_tokens` and `max_tokens` are counts and stay. `Bearer <credential>` is
masked inside any string too, since a header can end up in a message. Conversation content
(`prompt`, `messages`, `completion`) is dropped unless the caller keeps it (debug).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from itertools import pairwise
from typing import Final

__all__ = ["CONTENT_KEYS", "MASK", "is_secret_key", "redact", "redact_text"]

MASK: Final = "[redacted]"
CONTENT_KEYS: Final = frozenset({"prompt", "messages", "completion"})

_SECRET_WORDS: Final = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "credential",
        "credentials",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "signature",
        "token",
    }
)
# Pairs whose words are harmless alone ("key" is also a cache key, a todo key...).
_SECRET_PAIRS: Final = frozenset({("api", "key"), ("private", "key"), ("access", "key")})
_WORD: Final = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_BEARER: Final = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")


# Log lines reuse a few dozen keys; splitting each into words on every line was a third of
# the cost of formatting one.
@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    words = [w.lower() for w in _WORD.findall(key)]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in pairwise(words))


def redact_text(text: str) -> str:
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def redact(value: object, *, keep_content: bool = False) -> object:
    """`value` with secrets masked and, unless `keep_content`, conversation content dropped."""
    if isinstance(value, Mapping):
        return {
            str(k): MASK if is_secret_key(str(k)) else redact(v, keep_content=keep_content)
            for k, v in value.items()
            if keep_content or str(k) not in CONTENT_KEYS
        }
    if isinstance(value, list | tuple):
        return [redact(v, keep_content=keep_content) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
