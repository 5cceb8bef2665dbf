"""Each service scales on its own: its Deployment, HPA or KEDA ScaledObject, PDB and monitor.

The ScaledObject and ServiceMonitor are custom resources that kubernetes-validate does not
know; their shape is checked against the fields KEDA and the Prometheus Operator define.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pulse_contracts import subjects
from tests.deploy.chart import (
    COMPONENTS,
    CREDENTIALS,
    NAMESPACE,
    RELEASE,
    Manifest,
    merged,
    of_kind,
)

Render = Callable[..., list[Manifest]]

# What KEDA scales each component on: (stream, durable consumer). The gateway has none.
LAG_SOURCES: dict[str, set[tuple[str, str]]] = {
    "planner": {(subjects.STREAM_RUNS, subjects.Durable.PLANNER)},
    "executor": {
        (subjects.STREAM_RUNS, subjects.Durable.EXECUTOR_PLANS),
        (subjects.STREAM_TASKS, subjects.Durable.EXECUTOR_RESULTS),
    },
    "agent-adapter": {(subjects.STREAM_TASKS, subjects.Durable.AGENT_ADAPTER)},
    "archiver": {(subjects.STREAM_EVENTS, subjects.Durable.ARCHIVER)},
}

# The fields of keda.sh/v1alpha1 ScaledObject and monitoring.coreos.com/v1 ServiceMonitor
# this chart uses, strict about names so that a misspelt field fails here.
_METADATA = {
    "type": "object",
    "required": ["name", "labels"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "advanced": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "horizontalPodAutoscalerConfig": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "behavior": {"type": "object"},
                                "name": {"type": "string"},
                            },
                        }
                    },
                },
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"enum": ["nats-jetstream", "cpu", "memory"]},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "metadata": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}
JETSTREAM_TRIGGER_METADATA = {
    "type": "object",
    "required": ["natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold"],
    "additionalProperties": False,
    "properties": {
        "natsServerMonitoringEndpoint": {"type": "string", "pattern": "^[A-Za-z0-9.-]+:[0-9]+$"},
        "account": {"type": "string", "minLength": 1},
        "stream": {"type": "string"},
        "consumer": {"type": "string"},
        "lagThreshold": {"type": "string", "pattern": "^[1-9][0-9]*$"},
        "activationLagThreshold": {"type": "string", "pattern": "^[0-9]+$"},
        "useHttps": {"enum": ["true", "false"]},
    },
}
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "required": ["matchLabels"],
                    "properties": {"matchLabels": {"type": "object"}},
                    "additionalProperties": False,
                },
                "namespaceSelector": {
                    "type": "object",
                    "properties": {
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                        "any": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
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


@pytest.fixture(scope="module")
def production(render: Render, values_file: Callable[[str], dict[str, Any]]) -> list[Manifest]:
    return render(values_file("values-production.yaml"))


@pytest.fixture(scope="module")
def bundled(render: Render, values_file: Callable[[str], dict[str, Any]]) -> list[Manifest]:
    return render(values_file("ci/bundled-values.yaml"))


def selector_of(manifest: Manifest) -> dict[str, str]:
    selector: dict[str, str] = manifest["spec"]["selector"]["matchLabels"]
    return selector


@pytest.mark.parametrize("values_name", ["production", "bundled"])
def test_each_consumer_scales_on_its_own_lag(
    request: pytest.FixtureRequest, values_name: str
) -> None:
    manifests: list[Manifest] = request.getfixturevalue(values_name)
    scaled = of_kind(manifests, "ScaledObject")
    assert sorted(scaled) == sorted(f"{RELEASE}-{name}" for name in LAG_SOURCES)
    for name, sources in LAG_SOURCES.items():
        scaled_object = scaled[f"{RELEASE}-{name}"]
        validate(scaled_object, SCALED_OBJECT)
        spec = scaled_object["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"{RELEASE}-{name}",
        }
        lag = [t for t in spec["triggers"] if t["type"] == "nats-jetstream"]
        for trigger in lag:
            validate(trigger["metadata"], JETSTREAM_TRIGGER_METADATA)
        assert {(t["metadata"]["stream"], t["metadata"]["consumer"]) for t in lag} == sources
        assert spec["minReplicaCount"] <= spec["maxReplicaCount"]


def test_the_gateway_scales_on_cpu_with_an_hpa(production: list[Manifest]) -> None:
    hpas = of_kind(production, "HorizontalPodAutoscaler")
    assert list(hpas) == [f"{RELEASE}-gateway"]
    spec = hpas[f"{RELEASE}-gateway"]["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"{RELEASE}-gateway",
    }
    resources = {m["resource"]["name"]: m["resource"]["target"] for m in spec["metrics"]}
    assert resources == {
        "cpu": {"type": "Utilization", "averageUtilization": 70},
        "memory": {"type": "Utilization", "averageUtilization": 85},
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)


def test_autoscaled_deployments_leave_replicas_to_the_autoscaler(
    production: list[Manifest],
) -> None:
    for name, deployment in of_kind(production, "Deployment").items():
        assert "replicas" not in deployment["spec"], name


def test_every_component_has_its_own_selectors(production: list[Manifest]) -> None:
    """No Deployment, PDB or Service of one component selects another's pods."""
    pods = {
        name: d["spec"]["template"]["metadata"]["labels"]
        for name, d in of_kind(production, "Deployment").items()
    }
    for kind in ("Deployment", "PodDisruptionBudget"):
        for name, manifest in of_kind(production, kind).items():
            selector = selector_of(manifest)
            matches = [pod for pod, labels in pods.items() if labels.items() >= selector.items()]
            assert matches == [name], f"{kind}/{name} selects {matches}"
    for name, service in of_kind(production, "Service").items():
        selector = service["spec"]["selector"]
        matches = [pod for pod, labels in pods.items() if labels.items() >= selector.items()]
        assert len(matches) == 1, f"Service/{name} selects {matches}"


def test_pod_disruption_budgets(render: Render, production: list[Manifest]) -> None:
    default = of_kind(render(CREDENTIALS), "PodDisruptionBudget")
    assert sorted(default) == sorted(f"{RELEASE}-{name}" for name in COMPONENTS)
    for pdb in default.values():
        # One replica by default: a budget of minAvailable 1 would block every node drain.
        assert pdb["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in pdb["spec"]
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    for pdb in of_kind(production, "PodDisruptionBudget").values():
        assert pdb["spec"]["minAvailable"] == 1
        assert "maxUnavailable" not in pdb["spec"]


def test_service_monitors(production: list[Manifest]) -> None:
    monitors = of_kind(production, "ServiceMonitor")
    metrics_services = {
        name: s
        for name, s in of_kind(production, "Service").items()
        if s["metadata"]["labels"].get("pulse.dev/metrics") == "true"
    }
    assert len(monitors) == len(metrics_services) == len(COMPONENTS)
    for name, monitor in monitors.items():
        validate(monitor, SERVICE_MONITOR)
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        selector = monitor["spec"]["selector"]["matchLabels"]
        selected = [
            s
            for s, svc in metrics_services.items()
            if svc["metadata"]["labels"].items() >= selector.items()
        ]
        assert selected == [f"{name}-metrics"]
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
        assert monitor["spec"]["endpoints"][0]["port"] == "http-metrics"
        # The job Prometheus gives the targets: what PulseServiceDown's up{job="pulse"} selects.
        job_label = monitor["spec"]["jobLabel"]
        assert metrics_services[selected[0]]["metadata"]["labels"][job_label] == "pulse"


def test_service_monitor_jobs_do_not_depend_on_the_release_names(render: Render) -> None:
    values = merged(
        CREDENTIALS,
        {
            "fullnameOverride": "orchestrator",
            "metrics": {"service": {"enabled": True}, "serviceMonitor": {"enabled": True}},
        },
    )
    manifests = render(values)
    services = of_kind(manifests, "Service")
    monitors = of_kind(manifests, "ServiceMonitor")
    assert monitors
    assert not any("pulse" in name for name in monitors)
    for monitor in monitors.values():
        selector = monitor["spec"]["selector"]["matchLabels"].items()
        (service,) = [s for s in services.values() if s["metadata"]["labels"].items() >= selector]
        assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "pulse"


def test_keda_needs_a_monitoring_endpoint(helm: Any, render: Render) -> None:
    with pytest.raises(helm.HelmRenderError, match="monitoringEndpoint"):
        render(merged(CREDENTIALS, {"components": {"planner": {"keda": {"enabled": True}}}}))


def test_keda_refuses_a_component_without_consumers(helm: Any, render: Render) -> None:
    values = merged(
        CREDENTIALS,
        {
            "externalNats": {"monitoringEndpoint": "nats:8222"},
            "components": {"gateway": {"keda": {"enabled": True}}},
        },
    )
    with pytest.raises(helm.HelmRenderError, match="gateway has no JetStream consumer"):
        render(values)


def test_keda_scale_to_zero_and_cpu(render: Render) -> None:
    values = merged(
        CREDENTIALS,
        {
            "externalNats": {"monitoringEndpoint": "nats-headless.messaging.svc:8222"},
            "components": {
                "archiver": {"keda": {"enabled": True, "minReplicas": 0, "cpuUtilization": 90}}
            },
        },
    )
    manifests = render(values)
    scaled = of_kind(manifests, "ScaledObject")
    assert list(scaled) == [f"{RELEASE}-archiver"]
    spec = scaled[f"{RELEASE}-archiver"]["spec"]
    validate(scaled[f"{RELEASE}-archiver"], SCALED_OBJECT)
    assert spec["minReplicaCount"] == 0
    assert spec["triggers"][0]["metadata"]["natsServerMonitoringEndpoint"] == (
        "nats-headless.messaging.svc:8222"
    )
    assert spec["triggers"][-1] == {
        "type": "cpu",
        "metricType": "Utilization",
        "metadata": {"value": "90"},
    }
    deployments = of_kind(manifests, "Deployment")
    assert "replicas" not in deployments[f"{RELEASE}-archiver"]["spec"]
    assert deployments[f"{RELEASE}-planner"]["spec"]["replicas"] == 1
    assert of_kind(manifests, "HorizontalPodAutoscaler") == {}
