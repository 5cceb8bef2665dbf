"""The Grafana dashboard: valid, on a chosen Prometheus, with the rows on-call needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability.conftest import PromtoolCheck
from tests.observability.files import dashboard_panels, load_dashboard
from tests.observability.promql import read_expression

DASHBOARD = load_dashboard()
PANELS = [p for p in dashboard_panels(DASHBOARD) if p["type"] != "row"]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# Each row and metrics its panels must read between them.
ROWS: dict[str, set[str]] = {
    "Runs": {
        "pulse_run_status_total",
        "pulse_run_duration_seconds_bucket",
        "pulse_plan_latency_seconds_bucket",
    },
    "Steps": {"pulse_step_executions_total", "pulse_step_queue_wait_seconds_bucket"},
    "LLM": {
        "pulse_llm_request_duration_seconds_bucket",
        "pulse_llm_tokens_total",
        "pulse_llm_cost_usd_total",
        "pulse_llm_stage_seconds_bucket",
    },
    "Cache": {"pulse_cache_requests_total"},
    "Lag": {
        "pulse_consumer_pending_messages",
        "pulse_consumer_ack_pending_messages",
        "pulse_dlq_messages",
    },
    "Errors": {"pulse_dead_letters_total", "http_requests_total", "pulse_circuit_breaker_state"},
}


def _rows() -> dict[str, list[dict[str, Any]]]:
    """Panels by the row above them (rows are expanded: panels follow their row)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] | None = None
    for panel in DASHBOARD["panels"]:
        if panel["type"] == "row":
            current = rows.setdefault(panel["title"], list(panel.get("panels", [])))
        else:
            assert current is not None, f"panel {panel['title']!r} sits above every row"
            current.append(panel)
    return rows


def test_dashboard_identity() -> None:
    assert DASHBOARD["uid"] == "pulse-overview"
    assert DASHBOARD["title"]
    assert 36 <= DASHBOARD["schemaVersion"] <= 41


def test_the_datasource_is_a_variable_every_query_uses() -> None:
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in PANELS:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", DATASOURCE) == DATASOURCE, panel["title"]
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]


def test_every_variable_an_expression_uses_is_defined() -> None:
    defined = {v["name"] for v in DASHBOARD["templating"]["list"]}
    for panel in PANELS:
        for target in panel["targets"]:
            used = set(re.findall(r"\$(?!__)(\w+)", target["expr"]))
            assert used <= defined, f"{panel['title']}: undefined {sorted(used - defined)}"


def test_every_panel_queries_something() -> None:
    ids = [p["id"] for p in dashboard_panels(DASHBOARD)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in PANELS:
        targets = panel.get("targets", [])
        assert targets, f"{panel['title']} has no targets"
        refs = [t["refId"] for t in targets]
        assert len(refs) == len(set(refs)), panel["title"]
        assert all(t["expr"].strip() for t in targets), panel["title"]
        assert panel.get("description"), f"{panel['title']} does not say what it shows"


def test_panels_fit_the_grid_without_overlapping() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard_panels(DASHBOARD):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize("row", ROWS)
def test_each_row_shows_what_on_call_needs(row: str) -> None:
    rows = _rows()
    assert row in rows, f"no row {row!r}"
    read = {
        metric
        for panel in rows[row]
        for target in panel["targets"]
        for metric in read_expression(target["expr"]).metrics
    }
    assert ROWS[row] <= read, f"row {row} misses {sorted(ROWS[row] - read)}"


def test_the_steps_row_shows_retries() -> None:
    exprs = [t["expr"] for p in _rows()["Steps"] for t in p["targets"]]
    assert any('status="retried"' in e for e in exprs)


def test_promtool_accepts_every_expression(
    promtool_check_rules: PromtoolCheck, tmp_path: Path
) -> None:
    """Each query, with Grafana's variables filled in, as a recording rule promtool parses."""
    fill = {"$__rate_interval": "5m", "$namespace": ".*", "$service": ".*", "$tenant": ".*"}
    rules = []
    for panel in PANELS:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in fill.items():
                expr = expr.replace(variable, value)
            rules.append(
                {"record": f"dashboard:panel_{panel['id']}_{target['refId']}", "expr": expr}
            )
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in promtool_check_rules(path)
