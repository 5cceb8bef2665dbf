"""Summaries of latency samples: percentiles by linear interpolation between ranks.

Linear interpolation (numpy's default) keeps p99 meaningful on the few hundred samples a
quick run collects; `count` travels with every summary so a reader can judge how much a
tail percentile is worth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean

from pydantic import BaseModel

__all__ = ["Summary", "percentile", "ratio", "summarize"]


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of `samples`; raises ValueError when there are none."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Summary(BaseModel):
    """A distribution in one unit (the field names carry no unit; the owner names it)."""

    count: int
    mean: float
    min: float
    p50: float
    p90: float
    p99: float
    max: float


def summarize(samples: Sequence[float]) -> Summary:
    if not samples:
        raise ValueError("no samples to summarize")
    return Summary(
        count=len(samples),
        mean=fmean(samples),
        min=min(samples),
        p50=percentile(samples, 50),
        p90=percentile(samples, 90),
        p99=percentile(samples, 99),
        max=max(samples),
    )


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is not a positive number."""
    if denominator <= 0 or math.isnan(denominator):
        return None
    return numerator / denominator
