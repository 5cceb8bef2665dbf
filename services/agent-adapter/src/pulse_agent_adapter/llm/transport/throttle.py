"""Adaptive throttling from a provider's rate-limit headers.

Providers say how many requests are left in the current window and when it resets:
OpenAI `x-ratelimit-remaining-requests` / `x-ratelimit-reset-requests` (a duration such
as `1s`, `6m0s`, `250ms`), Anthropic `anthropic-ratelimit-requests-remaining` /
`-reset` (an RFC 3339 time), and the generic `x-ratelimit-remaining` / `x-ratelimit-reset`
(seconds, or a Unix time). With none left, new calls pause until the reset (and fail
fast with `busy` when that is past their deadline); with few left, concurrency is lowered
to what remains, so a burst does not run into 429s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

__all__ = ["AdaptiveThrottle", "parse_reset_s"]

_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_REMAINING: Final = (
    "x-ratelimit-remaining-requests",
    "anthropic-ratelimit-requests-remaining",
    "x-ratelimit-remaining",
)
_RESET: Final = (
    "x-ratelimit-reset-requests",
    "anthropic-ratelimit-requests-reset",
    "x-ratelimit-reset",
)
_EPOCH_THRESHOLD: Final = 1_000_000_000


def parse_reset_s(value: str, now: float) -> float | None:
    """Seconds until a reset given as seconds, a Go-style duration, Unix time or RFC 3339."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, number - now if number > _EPOCH_THRESHOLD else number)
    parts = _DURATION.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        return sum(float(n) * _UNIT_S[u] for n, u in parts)
    try:
        return max(0.0, datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - now)
    except ValueError:
        return None


class AdaptiveThrottle:
    def __init__(self, *, low_water: int = 4, clock: Callable[[], float] = time.time) -> None:
        self._low_water = low_water
        self._clock = clock
        self._paused_until = 0.0
        self._limited_until = 0.0
        self._allowed: int | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        remaining_raw = next((lowered[h] for h in _REMAINING if h in lowered), None)
        if remaining_raw is None:
            return
        try:
            remaining = int(float(remaining_raw))
        except ValueError:
            return
        now = self._clock()
        reset_raw = next((lowered[h] for h in _RESET if h in lowered), None)
        reset_s = parse_reset_s(reset_raw, now) if reset_raw is not None else None
        reset_s = 1.0 if reset_s is None else reset_s
        if remaining <= 0:
            self._paused_until = max(self._paused_until, now + reset_s)
        if remaining < self._low_water:
            self._allowed = max(1, remaining)
            self._limited_until = now + reset_s
        elif self._clock() >= self._limited_until:
            self._allowed = None

    def pause_s(self) -> float:
        """How long new calls must wait before the provider accepts requests again."""
        return max(0.0, self._paused_until - self._clock())

    def allowed_concurrency(self) -> int | None:
        """A lowered concurrency limit while remaining requests are few; None: no limit."""
        if self._allowed is not None and self._clock() >= self._limited_until:
            self._allowed = None
        return self._allowed
