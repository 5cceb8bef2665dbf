"""The alert rules: a valid rules file, each alert complete and linked to its runbook section."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.observability.conftest import PromtoolCheck
from tests.observability.files import ALERTS, RUNBOOK, load_alerts, markdown_anchors
from tests.observability.promql import read_expression

GROUPS: list[dict[str, Any]] = load_alerts()["groups"]
RULES: dict[str, dict[str, Any]] = {
    rule["alert"]: rule for group in GROUPS for rule in group["rules"] if "alert" in rule
}

# What issue 6 asks to be alerted on: the alert, and a metric its expression must read.
REQUIRED: dict[str, str] = {
    "PulseRunFailureRateHigh": "pulse_run_status_total",
    "PulseStepErrorRateHigh": "pulse_step_executions_total",
    "PulseConsumerLagHigh": "pulse_consumer_pending_messages",
    "PulseConsumerLagGrowing": "pulse_consumer_pending_messages",
    "PulseDeadLettersGrowing": "pulse_dlq_messages",
    "PulseCircuitBreakerOpen": "pulse_circuit_breaker_state",
    "PulseLlmBudgetNearlySpent": "pulse_llm_budget_remaining_ratio",
    "PulseHttp5xxRateHigh": "http_requests_total",
    "PulseServiceDown": "up",
}
SEVERITIES = {"critical", "warning", "info"}


def test_groups_and_alerts_are_named_once() -> None:
    names = [group["name"] for group in GROUPS]
    assert len(names) == len(set(names))
    alerts = [rule.get("alert") for group in GROUPS for rule in group["rules"]]
    assert len(alerts) == len(set(alerts)) == len(RULES)


@pytest.mark.parametrize(("alert", "metric"), REQUIRED.items())
def test_the_required_alerts_exist(alert: str, metric: str) -> None:
    assert alert in RULES
    assert metric in read_expression(RULES[alert]["expr"]).metrics


def test_the_budget_alert_fires_below_a_tenth() -> None:
    assert re.search(r"<\s*0\.1\b", RULES["PulseLlmBudgetNearlySpent"]["expr"])


@pytest.mark.parametrize("alert", RULES)
def test_every_alert_is_complete(alert: str) -> None:
    rule = RULES[alert]
    assert rule["expr"].strip()
    assert re.fullmatch(r"\d+[smh]", rule["for"]), "`for` keeps one bad scrape from paging"
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    assert annotations["runbook_url"].startswith("docs/runbook.md#")


@pytest.mark.parametrize("alert", RULES)
def test_every_runbook_url_points_at_a_runbook_section(alert: str) -> None:
    anchor = RULES[alert]["annotations"]["runbook_url"].split("#", 1)[1]
    assert anchor in markdown_anchors(RUNBOOK.read_text()), f"docs/runbook.md has no #{anchor}"
    assert anchor == alert.lower(), "one section per alert, titled with the alert's name"


def test_the_runbook_starts_from_the_three_commands() -> None:
    text = RUNBOOK.read_text()
    for command in ("pulse runs --status failed", "pulse trace", "kubectl logs", "jq"):
        assert command in text, command


def test_promtool_accepts_the_rules(promtool_check_rules: PromtoolCheck) -> None:
    assert f"SUCCESS: {len(RULES)} rules found" in promtool_check_rules(ALERTS)
