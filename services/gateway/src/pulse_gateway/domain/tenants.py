"""Who is calling: the tenant an API key belongs to, and how keys are made and stored.

Keys are 256-bit random tokens, so they are stored as a plain SHA-256 digest: a slow,
salted hash (scrypt, argon2) protects low-entropy passwords against guessing, and no
guessing can reach a 256-bit secret. A fast digest lets every request find its key with
one indexed equality lookup instead of spending tens of milliseconds of CPU per call (which
would itself be a denial-of-service lever). `pulse keys create` (pulse-client) makes keys in
the same format; a test keeps the two in step.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

__all__ = [
    "API_KEY_PREFIX",
    "Tenant",
    "api_key_hash",
    "display_prefix",
    "new_api_key",
    "static_key_id",
]

API_KEY_PREFIX: Final = "pulse_"
_DISPLAY_CHARS: Final = 12


@dataclass(frozen=True)
class Tenant:
    """The caller, as authentication established it.

    `id` scopes every read and write; `key_id` names the key used (rate limits, logs) and
    never reveals the key itself.
    """

    id: str
    key_id: str


def new_api_key() -> str:
    """A fresh key: the `pulse_` prefix (so secret scanners recognise it) and 43 url-safe
    characters of randomness."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    """What the `api_keys` table stores and is searched by: hex SHA-256 of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters of a key, enough for an operator to recognise it in a list."""
    return key[:_DISPLAY_CHARS]


def static_key_id(key: str) -> str:
    """A stable id for a key from PULSE_API_KEYS (they have no row to name them)."""
    return "env-" + api_key_hash(key)[:16]
