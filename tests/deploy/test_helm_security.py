"""Every pod the chart runs is locked down, every manifest is valid Kubernetes, and the
NetworkPolicies open only what each component needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.chart import (
    COMPONENTS,
    CREDENTIALS,
    RELEASE,
    Manifest,
    containers,
    merged,
    of_kind,
    pod_spec,
    workloads,
)

Render = Callable[..., list[Manifest]]

KUBERNETES = "1.30.0"
VALUE_SETS = ["ci/default-values.yaml", "ci/bundled-values.yaml", "values-production.yaml"]
CRDS = {"ScaledObject", "ServiceMonitor", "PrometheusRule"}  # test_helm_scaling/_observability
HARDENED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.fixture(scope="module", params=VALUE_SETS)
def value_set(
    request: pytest.FixtureRequest,
    render: Render,
    values_file: Callable[[str], dict[str, Any]],
) -> list[Manifest]:
    return render(values_file(request.param))


def test_manifests_match_the_kubernetes_schemas(value_set: list[Manifest]) -> None:
    validator = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate is not installed"
    )
    checked = 0
    for manifest in value_set:
        if manifest["kind"] in CRDS:
            continue
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            validator.validate(manifest, KUBERNETES, strict=True)
        except validator.ValidationError as error:
            pytest.fail(f"{name}: {error}")
        checked += 1
    assert checked > 20


def test_every_pod_is_hardened(value_set: list[Manifest]) -> None:
    pods = workloads(value_set)
    assert {name.split("/")[0] for name in pods} == {"Deployment", "Job"}
    for name, workload in pods.items():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for forbidden in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(forbidden), f"{name}: {forbidden}"
        assert all("hostPath" not in v for v in spec.get("volumes", [])), name
        for c in containers(workload):
            where = f"{name}/{c['name']}"
            assert c["securityContext"].items() >= HARDENED_CONTAINER.items(), where
            # The root filesystem is read-only: /tmp is the one writable place.
            writable = [m for m in c["volumeMounts"] if not m.get("readOnly")]
            assert writable == [{"name": "tmp", "mountPath": "/tmp"}], where
            assert c["resources"].get("limits", {}).get("memory"), where
        tmp = next(v for v in spec["volumes"] if v["name"] == "tmp")
        assert tmp["emptyDir"]["sizeLimit"], name


def test_credentials_never_appear_in_plain_env(value_set: list[Manifest]) -> None:
    for name, workload in workloads(value_set).items():
        for c in containers(workload):
            for entry in c.get("env", []):
                value = str(entry.get("value", ""))
                assert "password" not in value.lower() or "$(" in value, f"{name}: {entry}"
                if entry["name"] in {"PULSE_API_KEYS", "PULSE_DATABASE_PASSWORD"}:
                    assert "valueFrom" in entry, f"{name}: {entry['name']}"


@pytest.fixture(scope="module")
def policies(render: Render) -> dict[str, Manifest]:
    values = merged(CREDENTIALS, {"otel": {"endpoint": "http://otel-collector:4318"}})
    return of_kind(render(values), "NetworkPolicy")


def egress_ports(policy: Manifest) -> set[int]:
    return {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}


def test_one_network_policy_per_component_and_the_setup_job(
    policies: dict[str, Manifest],
) -> None:
    assert sorted(policies) == sorted(
        [f"{RELEASE}-{name}" for name in COMPONENTS] + [f"{RELEASE}-setup"]
    )
    for name, policy in policies.items():
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"], name
        component = name.removeprefix(f"{RELEASE}-")
        assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == (
            component
        )


@pytest.mark.parametrize(
    ("name", "ports"),
    [
        ("gateway", {53, 4222, 4317, 4318, 5432}),
        ("planner", {53, 4222, 4317, 4318}),
        ("executor", {53, 4222, 4317, 4318}),
        ("agent-adapter", {53, 4222, 4317, 4318, 443}),
        ("archiver", {53, 4222, 4317, 4318, 5432}),
        ("setup", {53, 4222, 4317, 4318, 5432}),
    ],
)
def test_egress_is_only_what_the_component_needs(
    policies: dict[str, Manifest], name: str, ports: set[int]
) -> None:
    assert egress_ports(policies[f"{RELEASE}-{name}"]) == ports


def test_provider_egress_excludes_private_and_metadata_addresses(
    policies: dict[str, Manifest],
) -> None:
    rules = policies[f"{RELEASE}-agent-adapter"]["spec"]["egress"]
    [provider] = [r for r in rules if any(p["port"] == 443 for p in r["ports"])]
    block = provider["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(
        block["except"]
    )


def test_ingress_reaches_only_the_http_port(policies: dict[str, Manifest]) -> None:
    for name, policy in policies.items():
        rules = policy["spec"].get("ingress", [])
        if name == f"{RELEASE}-setup":
            assert rules == []
            continue
        for rule in rules:
            assert rule["ports"] == [{"port": "http", "protocol": "TCP"}], name
        scrapers = [r for r in rules if r.get("from")]
        assert scrapers, f"{name}: /metrics must be limited to the monitoring namespace"
    gateway = policies[f"{RELEASE}-gateway"]["spec"]["ingress"]
    # The API itself is open (networkPolicy.gateway.from is empty by default).
    assert any("from" not in rule for rule in gateway)
    for name in ("planner", "executor", "agent-adapter", "archiver"):
        assert all(r.get("from") for r in policies[f"{RELEASE}-{name}"]["spec"]["ingress"])


def test_bundled_servers_are_reached_by_their_pod_labels(render: Render) -> None:
    values = {
        "secrets": {"apiKeys": "k=t"},
        "nats": {"enabled": True},
        "postgresql": {"enabled": True},
    }
    policies = of_kind(render(values), "NetworkPolicy")
    archiver = policies[f"{RELEASE}-archiver"]["spec"]["egress"]
    peers = [peer for rule in archiver for peer in rule.get("to", [])]
    labels = [p["podSelector"]["matchLabels"] for p in peers if "podSelector" in p]
    assert {"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": RELEASE} in labels
    assert {"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": RELEASE} in labels


def test_network_policies_can_be_turned_off(render: Render) -> None:
    manifests = render(merged(CREDENTIALS, {"networkPolicy": {"enabled": False}}))
    assert of_kind(manifests, "NetworkPolicy") == {}
