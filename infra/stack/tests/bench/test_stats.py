"""Percentiles and summaries of the benchmark's samples."""

from __future__ import annotations

import pytest

from pulse_stack.bench.stats import percentile, ratio, summarize


def test_percentile_interpolates_between_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == pytest.approx(2.5)
    assert percentile(samples, 90) == pytest.approx(3.7)


def test_percentile_of_one_sample_is_that_sample() -> None:
    assert percentile([7.5], 99) == 7.5


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_rejects_a_rank_outside_0_to_100(q: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], q)


def test_percentile_and_summary_need_samples() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="no samples"):
        summarize([])


def test_summary_of_1_to_100() -> None:
    summary = summarize([float(v) for v in range(1, 101)])
    assert summary.count == 100
    assert summary.mean == pytest.approx(50.5)
    assert (summary.min, summary.max) == (1.0, 100.0)
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p90 == pytest.approx(90.1)
    assert summary.p99 == pytest.approx(99.01)


def test_ratio_is_none_without_a_positive_denominator() -> None:
    assert ratio(3.0, 2.0) == pytest.approx(1.5)
    assert ratio(3.0, 0.0) is None
    assert ratio(3.0, -1.0) is None
    assert ratio(3.0, float("nan")) is None
