"""Every metric and label the dashboard and the alerts read is one the services expose.

The names are checked against metrics.yaml (the agreed catalogue); that the running
services really expose them is tests/e2e/test_observability_metrics.py.
"""

from __future__ import annotations

import pytest

from tests.observability.files import Catalogue, expressions
from tests.observability.promql import read_expression

CATALOGUE = Catalogue.load()
EXPRESSIONS = list(expressions())


def test_there_is_something_to_check() -> None:
    assert len(EXPRESSIONS) > 30
    assert len(CATALOGUE.metrics) > 20


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_every_metric_is_in_the_catalogue(where: str, expr: str) -> None:
    usage = read_expression(expr)
    assert usage.selectors, f"{where}: no metric in {expr!r}"
    unknown = sorted(m for m in usage.metrics if CATALOGUE.resolve(m) is None)
    assert unknown == [], f"{where} uses metrics no service exposes"


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_every_label_belongs_to_its_metric(where: str, expr: str) -> None:
    usage = read_expression(expr)
    for selector in usage.selectors:
        wrong = selector.labels - CATALOGUE.labels_of(selector.metric)
        assert not wrong, f"{where}: {selector.metric} has no label {sorted(wrong)}"
    # A `by (...)` label must at least exist on one of the expression's metrics.
    known = set().union(*(CATALOGUE.labels_of(m) for m in usage.metrics))
    assert usage.grouping <= known, f"{where}: grouping by {sorted(usage.grouping - known)}"


def test_histograms_are_read_through_their_series() -> None:
    """A histogram is never selected by its bare name (Prometheus has no such series)."""
    histograms = {n for n, s in CATALOGUE.metrics.items() if s.type == "histogram"}
    for where, expr in EXPRESSIONS:
        bare = read_expression(expr).metrics & histograms
        assert not bare, f"{where} selects histogram {sorted(bare)} without _bucket/_sum/_count"


def test_the_catalogue_names_follow_the_conventions() -> None:
    for name, spec in CATALOGUE.metrics.items():
        assert spec.type in {"counter", "gauge", "histogram"}, name
        assert name.endswith("_total") == (spec.type == "counter"), name
        assert spec.services, f"{name} names no service"
        assert name.startswith(("pulse_", "faststream_", "http_")), name
