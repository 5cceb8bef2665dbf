"""How a provider call failed, as the transport and providers report it to the gateway."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["REDACTED", "ProviderError", "Saturated", "redact"]

REDACTED: Final = "[redacted]"

# What API keys look like when a provider echoes one back (OpenAI's 401 names the key it
# was given, partly masked): `sk-...`, `sk-ant-...`, `gsk_...`, `xai-...`, or a bearer token.
_KEY_LIKE: Final = re.compile(
    r"(?i)\bbearer\s+[^\s\"',;]+|\b(?:sk|gsk|xai|pk|rk)[-_][A-Za-z0-9*_.\-]{8,}"
)
_MIN_SECRET_CHARS: Final = 8


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secret values and anything shaped like an API key replaced,
    so provider error messages can be logged, traced and reported to callers."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_CHARS:
            text = text.replace(secret, REDACTED)
    return _KEY_LIKE.sub(REDACTED, text)


class ProviderError(Exception):
    """A provider did not answer usefully.

    `retryable`: the same request may succeed later (429, 5xx, a timeout, a dropped
    connection, a stream cut off); `retry_after_s`: the provider's own hint, if any;
    `status`: the HTTP status, None when there was no response.
    """

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s

    @property
    def reason(self) -> str:
        """A short label for metrics: the status, or the kind of failure."""
        if self.status is not None:
            return str(self.status)
        return "timeout" if "timed out" in self.message else "connection"


class Saturated(Exception):
    """No capacity for this call within its deadline: the concurrency limit is reached
    and the wait queue full or too slow, or the provider asked us to pause."""

    def __init__(self, provider: str, message: str, *, retry_after_s: float) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.retry_after_s = max(0.0, retry_after_s)
