"""When to try a provider request again, and how long to wait first.

Retried: 408, 425, 429, 500, 502, 503, 504 and 529 (Anthropic's "overloaded"), timeouts
and dropped connections. The pause after the n-th failure is exponential with jitter
(`pulse_resilience.Backoff`), unless the provider said how long: `retry-after-ms` or
`Retry-After` (seconds or an HTTP date) replaces it, capped by `max_retry_after_s`. A
pause that would end past the caller's deadline is not taken: the error is raised at
once with the provider's hint, so the caller can fall back or report `busy`.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from pulse_resilience import Backoff

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504, 529})


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `retry-after`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    """Retries after the first attempt."""
    backoff: Backoff = field(
        default_factory=lambda: Backoff(
            max_attempts=4, initial_delay_s=0.5, multiplier=2.0, max_delay_s=8.0, jitter=0.5
        )
    )
    max_retry_after_s: float = 30.0

    def pause_s(
        self, failures: int, retry_after_s: float | None, rng: random.Random | None = None
    ) -> float:
        if retry_after_s is not None:
            return min(self.max_retry_after_s, retry_after_s)
        return self.backoff.delay_s(failures, rng)
