"""The chart's optional dashboard ConfigMap and PrometheusRule carry infra/observability.

The chart holds copies of the dashboard and the alert rules (.Files.Get reads only files
inside the chart); they must stay identical to infra/observability's. The PrometheusRule is
a custom resource kubernetes-validate does not know: its shape is checked against the
fields of monitoring.coreos.com/v1 this chart uses, strictly.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.chart import CHART, CREDENTIALS, RELEASE, ROOT, Manifest, merged, of_kind

Render = Callable[..., list[Manifest]]

OBSERVABILITY = ROOT / "infra" / "observability"
COPIES = {
    CHART / "dashboards" / "pulse-overview.json": OBSERVABILITY / "grafana" / "pulse-overview.json",
    CHART / "rules" / "alerts.yaml": OBSERVABILITY / "prometheus" / "alerts.yaml",
}
BOTH = {
    "observability": {"grafanaDashboard": {"enabled": True}, "prometheusRule": {"enabled": True}}
}
DURATION = {"type": "string", "pattern": "^[0-9]+(ms|s|m|h|d|w|y)$"}
STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": {
            "type": "object",
            "required": ["name", "labels"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "namespace": {"type": "string"},
                "labels": STRINGS,
            },
        },
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": DURATION,
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string"},
                                        "record": {"type": "string"},
                                        "expr": {"type": "string", "minLength": 1},
                                        "for": DURATION,
                                        "keep_firing_for": DURATION,
                                        "labels": STRINGS,
                                        "annotations": STRINGS,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def validate(instance: Manifest, schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(instance), key=lambda e: list(e.path)
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize("chart_copy", COPIES, ids=lambda p: p.name)
def test_the_charts_copies_match_infra_observability(chart_copy: Any) -> None:
    source = COPIES[chart_copy]
    assert chart_copy.read_bytes() == source.read_bytes(), (
        f"{chart_copy.relative_to(ROOT)} differs from {source.relative_to(ROOT)}: "
        f"cp {source.relative_to(ROOT)} {chart_copy.relative_to(ROOT)}"
    )


def test_neither_is_rendered_by_default(render: Render) -> None:
    manifests = render(CREDENTIALS)
    assert of_kind(manifests, "PrometheusRule") == {}
    assert f"{RELEASE}-dashboard" not in of_kind(manifests, "ConfigMap")


def test_the_dashboard_configmap_is_found_by_grafanas_sidecar(render: Render) -> None:
    values = merged(
        CREDENTIALS,
        {
            "observability": {
                "grafanaDashboard": {
                    "enabled": True,
                    "namespace": "monitoring",
                    "annotations": {"grafana_folder": "Pulse"},
                }
            }
        },
    )
    config_map = of_kind(render(values), "ConfigMap")[f"{RELEASE}-dashboard"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["namespace"] == "monitoring"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Pulse"}
    dashboard = json.loads(config_map["data"]["pulse-overview.json"])
    assert dashboard == json.loads(COPIES[CHART / "dashboards" / "pulse-overview.json"].read_text())


def test_the_prometheus_rule_carries_the_alerts(render: Render, yaml: Any) -> None:
    values = merged(
        CREDENTIALS,
        {
            "observability": {
                "prometheusRule": {
                    "enabled": True,
                    "labels": {"release": "kube-prometheus-stack"},
                    "runbookBaseUrl": "https://git.example.com/pulse/blob/main/",
                    "additionalRuleLabels": {"team": "platform", "severity": "ignored"},
                }
            }
        },
    )
    rule = of_kind(render(values), "PrometheusRule")[RELEASE]
    validate(rule, PROMETHEUS_RULE)
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    expected = copy.deepcopy(
        yaml.safe_load((OBSERVABILITY / "prometheus" / "alerts.yaml").read_text())
    )
    for group in expected["groups"]:
        for alert in group["rules"]:
            alert["labels"] = {"team": "platform", **alert["labels"]}  # the alert's own win
            url = alert["annotations"]["runbook_url"]
            alert["annotations"]["runbook_url"] = "https://git.example.com/pulse/blob/main/" + url
    assert rule["spec"] == expected


def test_templates_in_annotations_reach_prometheus_untouched(render: Render) -> None:
    rule = of_kind(render(merged(CREDENTIALS, BOTH)), "PrometheusRule")[RELEASE]
    descriptions = [
        r["annotations"]["description"] for g in rule["spec"]["groups"] for r in g["rules"]
    ]
    assert any("{{ $labels.consumer }}" in d for d in descriptions)
    assert all(
        r["annotations"]["runbook_url"].startswith("docs/runbook.md#")
        for g in rule["spec"]["groups"]
        for r in g["rules"]
    )


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"observability": {"grafanaDashboard": {"enable": True}}}, "enable"),
        ({"observability": {"prometheusRule": {"runbookBaseURL": "x"}}}, "runbookBaseURL"),
        ({"observability": {"prometheusRules": {"enabled": True}}}, "prometheusRules"),
    ],
)
def test_the_schema_catches_typos(
    helm: Any, render: Render, values: dict[str, Any], where: str
) -> None:
    with pytest.raises(helm.HelmValuesError, match=re.escape(where)):
        render(merged(CREDENTIALS, values))
