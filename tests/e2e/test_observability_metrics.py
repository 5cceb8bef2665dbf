"""Every metric the Grafana dashboard and the alert rules read is on the real services'
/metrics, after one real run through the gateway.

The names come from the PromQL of infra/observability (tests/observability reads it); each
is looked for on the services that tests/observability/metrics.yaml says expose it, in the
`# TYPE` lines or the samples (a labelled metric with no sample yet still has its TYPE).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pulse_stack.launcher import Stack
from tests.observability.files import Catalogue, expressions
from tests.observability.promql import read_expression

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]

KEY_A = {"Authorization": "Bearer e2e-key-a"}
GOAL = "calculate 5 * 3, add the result as a todo, then list all todos"
TERMINAL = {"completed", "failed", "canceled", "rejected"}
CATALOGUE = Catalogue.load()


@dataclass
class MetricsPage:
    """One service's /metrics: the names it declares and its samples."""

    names: set[str] = field(default_factory=set)
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> MetricsPage:
        page = cls()
        for family in text_string_to_metric_families(text):
            page.names.add(family.name)
            if family.type == "counter":
                page.names.add(f"{family.name}_total")  # the parser drops the suffix
            for sample in family.samples:
                page.names.add(sample.name)
                page.samples.append((sample.name, dict(sample.labels), sample.value))
        return page

    def total(self, name: str, **labels: str) -> float:
        return sum(
            value
            for sample, sample_labels, value in self.samples
            if sample == name and labels.items() <= sample_labels.items()
        )


def _scrape(stack: Stack) -> dict[str, MetricsPage]:
    pages: dict[str, MetricsPage] = {}
    with httpx.Client(timeout=10) as client:
        for group in stack.scrape_targets():
            response = client.get(f"http://{group['targets'][0]}/metrics")
            assert response.status_code == 200, response.text
            pages[group["labels"]["service"]] = MetricsPage.parse(response.text)
    return pages


def _run_one_goal(stack: Stack) -> dict[str, object]:
    with httpx.Client(base_url=stack.gateway_url, timeout=10) as client:
        response = client.post("/v1/runs", json={"prompt": GOAL}, headers=KEY_A)
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]
        deadline = time.monotonic() + 60
        while True:
            run: dict[str, object] = client.get(f"/v1/runs/{run_id}", headers=KEY_A).json()
            if run["status"] in TERMINAL:
                return run
            assert time.monotonic() < deadline, f"run stuck: {run}"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def after_a_run(stack: Stack) -> dict[str, MetricsPage]:
    run = _run_one_goal(stack)
    assert run["status"] == "completed", run
    # The executor counts the run's end right after writing it; wait for the count, not a
    # fixed time.
    deadline = time.monotonic() + 15
    pages = _scrape(stack)
    while pages["executor"].total("pulse_run_status_total", status="completed") < 1:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
        pages = _scrape(stack)
    return pages


def _used_metrics() -> set[str]:
    return {m for _, expr in expressions() for m in read_expression(expr).metrics}


def test_every_metric_the_dashboard_and_alerts_use_is_exposed(
    after_a_run: dict[str, MetricsPage],
) -> None:
    missing: dict[str, list[str]] = {}
    for series in sorted(_used_metrics()):
        spec = CATALOGUE.resolve(series)
        assert spec is not None, f"{series} is not in tests/observability/metrics.yaml"
        if spec.name in CATALOGUE.scrape_generated:
            continue  # made by Prometheus itself (`up`)
        absent = [s for s in spec.services if spec.name not in after_a_run[s].names]
        if absent:
            missing[spec.name] = absent
    assert missing == {}, f"metrics used but not exposed, by service: {missing}"


def test_the_run_is_counted(after_a_run: dict[str, MetricsPage]) -> None:
    executor = after_a_run["executor"]
    assert executor.total("pulse_run_status_total", status="completed") >= 1
    assert executor.total("pulse_step_executions_total", status="completed") >= 3
    assert executor.total("pulse_step_queue_wait_seconds_count") >= 3
    gateway = after_a_run["gateway"]
    assert gateway.total("http_requests_total", route="/v1/runs", status="202") >= 1
