"""A token bucket per API key: `rate` tokens a second, at most `burst` saved up.

Pure arithmetic; where the bucket lives (a JetStream KV entry written with compare-and-set,
so every gateway replica draws from the same one) is an adapter's business.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, Field

__all__ = ["Bucket", "RateDecision", "take_token"]


class Bucket(BaseModel):
    """Stored state: tokens left at `at` (seconds since the epoch)."""

    tokens: float = Field(ge=0)
    at: float


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: int = 0
    """Whole seconds until a token is there again (only when refused)."""
    remaining: int = 0


def take_token(
    bucket: Bucket | None, *, now: float, rate: float, burst: int
) -> tuple[Bucket, RateDecision]:
    """The bucket after one request at `now`, and whether that request may go ahead.

    A missing bucket starts full. A clock that went backwards (another replica's clock is a
    little behind) refills nothing rather than taking tokens away.
    """
    if bucket is None:
        tokens = float(burst)
    else:
        elapsed = max(0.0, now - bucket.at)
        tokens = min(float(burst), bucket.tokens + elapsed * rate)
    if tokens >= 1.0:
        left = tokens - 1.0
        return Bucket(tokens=left, at=now), RateDecision(True, remaining=int(left))
    wait_s = (1.0 - tokens) / rate if rate > 0 else 1.0
    return Bucket(tokens=tokens, at=now), RateDecision(
        False, retry_after_s=max(1, math.ceil(wait_s))
    )
