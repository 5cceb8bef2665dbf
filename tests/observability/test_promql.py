"""The small PromQL reader finds metric names and labels, and nothing else."""

from __future__ import annotations

import pytest

from tests.observability.promql import Selector, read_expression


def test_a_histogram_quantile_names_its_bucket_series_and_labels() -> None:
    usage = read_expression(
        "histogram_quantile(0.95, sum by (le, tool) "
        '(rate(pulse_step_queue_wait_seconds_bucket{namespace=~"$namespace"}[$__rate_interval])))'
    )
    assert usage.selectors == (
        Selector("pulse_step_queue_wait_seconds_bucket", frozenset({"namespace"})),
    )
    assert usage.grouping == {"le", "tool"}


def test_binary_operators_keywords_numbers_and_offsets_are_not_metrics() -> None:
    usage = read_expression(
        "sum(rate(a_total[5m] offset 1h)) / ignoring(code) group_left "
        "sum without (instance) (b) > bool 1e3 and on (namespace) c unless d or vector(1)"
    )
    assert usage.metrics == {"a_total", "b", "c", "d"}
    assert usage.grouping == {"code", "instance", "namespace"}


def test_strings_may_hold_braces_and_words() -> None:
    usage = read_expression(
        'label_replace(up{job=~"pulse-{gateway}.*", instance!="sum(x)"}, "dst", "$1", "src", "(.*)")'
    )
    assert usage.selectors == (Selector("up", frozenset({"job", "instance"})),)


def test_subqueries_and_aggregations_written_after_their_argument() -> None:
    usage = read_expression(
        "max_over_time(deriv(pending[10m])[30m:1m]) > 0 and sum(pending_total) by (stream)"
    )
    assert usage.metrics == {"pending", "pending_total"}
    assert usage.grouping == {"stream"}


def test_a_selector_without_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported selector"):
        read_expression('{__name__="x"}')
