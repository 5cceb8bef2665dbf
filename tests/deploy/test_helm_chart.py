"""The chart renders what each component needs: Deployment, env, secrets, config, services.

Rendered offline by Helm's own library; see conftest.py.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.chart import (
    CHART,
    COMPONENTS,
    CREDENTIALS,
    RELEASE,
    Manifest,
    container,
    env_of,
    merged,
    of_kind,
    pod_spec,
)

Render = Callable[..., list[Manifest]]


@pytest.fixture(scope="module")
def manifests(render: Render) -> list[Manifest]:
    return render(CREDENTIALS)


@pytest.fixture(scope="module")
def deployments(manifests: list[Manifest]) -> dict[str, Manifest]:
    return of_kind(manifests, "Deployment")


def test_chart_metadata(yaml: Any) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "pulse"
    assert chart["appVersion"] == "0.1.0"
    dependencies = {d["name"]: d for d in chart["dependencies"]}
    assert dependencies["nats"]["repository"] == "https://nats-io.github.io/k8s/helm/charts/"
    assert dependencies["nats"]["condition"] == "nats.enabled"
    assert dependencies["postgresql"]["condition"] == "postgresql.enabled"
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["nats"]["enabled"] is False
    assert defaults["postgresql"]["enabled"] is False


@pytest.mark.parametrize(
    "values_name", ["ci/default-values.yaml", "ci/bundled-values.yaml", "values-production.yaml"]
)
def test_lint_finds_nothing_but_the_unfetched_dependencies(
    helm: Any, values_file: Callable[[str], dict[str, Any]], values_name: str
) -> None:
    report = helm.lint(CHART, values_file(values_name), strict=True, kube_version="v1.30.0")
    # The optional NATS and PostgreSQL charts are fetched by `helm dependency build`, which
    # needs the network; the chart itself must be clean.
    unfetched = "chart directory is missing these dependencies: nats,postgresql"
    assert [e for e in report["errors"] if e != unfetched] == []
    findings = [m for m in report["messages"] if m["severity"] > 1 and m["error"] != unfetched]
    assert findings == []


def test_one_deployment_per_component(deployments: dict[str, Manifest]) -> None:
    assert sorted(deployments) == sorted(f"{RELEASE}-{name}" for name in COMPONENTS)


@pytest.mark.parametrize(("name", "port"), sorted(COMPONENTS.items()))
def test_component_deployment(deployments: dict[str, Manifest], name: str, port: int) -> None:
    deployment = deployments[f"{RELEASE}-{name}"]
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert labels["app.kubernetes.io/component"] == name
    assert deployment["spec"]["template"]["metadata"]["labels"].items() >= labels.items()
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    c = container(deployment)
    assert c["image"] == f"pulse/{name}:0.1.0"
    assert c["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["resources"]["requests"]
    assert c["resources"]["limits"]["memory"]
    env = env_of(c)
    assert env["PULSE_NATS_URL"]["value"] == "nats://nats:4222"
    assert env["PULSE_HTTP_PORT"]["value"] == str(port)
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env
    spread = pod_spec(deployment)["topologySpreadConstraints"]
    assert [s["labelSelector"]["matchLabels"] for s in spread] == [labels]


def test_credentials_come_from_the_secret(
    manifests: list[Manifest], deployments: dict[str, Manifest]
) -> None:
    secrets = of_kind(manifests, "Secret")
    assert set(secrets[RELEASE]["data"]) == {"database-url", "api-keys"}
    archiver = env_of(container(deployments[f"{RELEASE}-archiver"]))
    gateway = env_of(container(deployments[f"{RELEASE}-gateway"]))
    assert archiver["PULSE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": RELEASE,
        "key": "database-url",
    }
    assert gateway["PULSE_API_KEYS"]["valueFrom"]["secretKeyRef"] == {
        "name": RELEASE,
        "key": "api-keys",
    }
    # The gateway reads the archive (listings, timelines, usage, stored keys).
    assert gateway["PULSE_DATABASE_URL"] == archiver["PULSE_DATABASE_URL"]
    assert "PULSE_API_KEYS" not in archiver


def test_a_changed_credential_rolls_only_the_pods_that_read_it(render: Render) -> None:
    def checksums(values: dict[str, Any]) -> dict[str, str]:
        return {
            name: d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for name, d in of_kind(render(values), "Deployment").items()
        }

    before = checksums(CREDENTIALS)
    after = checksums(merged(CREDENTIALS, {"secrets": {"apiKeys": "key-2=tenant-b"}}))
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {f"{RELEASE}-gateway"}


def test_existing_secret_replaces_the_charts(render: Render) -> None:
    manifests = render({"secrets": {"existingSecret": "pulse-credentials"}})
    assert of_kind(manifests, "Secret") == {}
    deployments = of_kind(manifests, "Deployment")
    ref = env_of(container(deployments[f"{RELEASE}-archiver"]))["PULSE_DATABASE_URL"]
    assert ref["valueFrom"]["secretKeyRef"]["name"] == "pulse-credentials"
    job = of_kind(manifests, "Job")[f"{RELEASE}-setup"]
    ref = env_of(container(job))["PULSE_DATABASE_URL"]
    assert ref["valueFrom"]["secretKeyRef"] == {"name": "pulse-credentials", "key": "database-url"}


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"secrets": {"apiKeys": "k=t"}}, "secrets.databaseUrl"),
        ({"secrets": {"databaseUrl": "postgresql+asyncpg://db/pulse"}}, "secrets.apiKeys"),
    ],
)
def test_a_missing_credential_fails_the_render(
    helm: Any, render: Render, values: dict[str, Any], missing: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=missing.replace(".", r"\.")):
        render(values)


def test_a_disabled_component_needs_no_credentials(render: Render) -> None:
    gateway_off_the_archive = {
        "egress": {"database": False},
        "secretEnv": {"PULSE_DATABASE_URL": None},  # null deletes a default key in Helm
    }
    manifests = render(
        {
            "secrets": {"apiKeys": "k"},
            "components": {"archiver": {"enabled": False}, "gateway": gateway_off_the_archive},
        }
    )
    gateway = env_of(container(of_kind(manifests, "Deployment")[f"{RELEASE}-gateway"]))
    assert "PULSE_DATABASE_URL" not in gateway
    assert f"{RELEASE}-archiver" not in of_kind(manifests, "Deployment")
    job = of_kind(manifests, "Job")[f"{RELEASE}-setup"]
    # Only the streams are left to provision; no migration and no database.
    assert [c["name"] for c in pod_spec(job)["containers"]] == ["provision"]
    assert "initContainers" not in pod_spec(job)


def test_shared_defaults_and_component_overrides(render: Render) -> None:
    values = merged(
        CREDENTIALS,
        {
            "image": {"repository": "registry.example/pulse", "tag": "1.2.3"},
            "env": {"PULSE_LOG_LEVEL": "INFO"},
            "externalNats": {"url": "nats://nats-a:4222,nats://nats-b:4222"},
            "otel": {"endpoint": "http://otel-collector:4318"},
            "topologySpread": {"enabled": True},
            "components": {
                "executor": {
                    "replicas": 3,
                    "image": {"tag": "1.2.4", "pullPolicy": "Always"},
                    "env": {"PULSE_LOG_LEVEL": "DEBUG", "PULSE_MAX_WORKERS": 32},
                    "resources": {"limits": {"memory": "1Gi"}},
                    # A falsy value in a component still wins over the shared one.
                    "topologySpread": {"enabled": False},
                },
                "gateway": {"image": {"repository": "other.example/gw"}},
                "archiver": {"image": {"digest": "sha256:" + "a" * 64}},
                "planner": {"enabled": False},
            },
        },
    )
    deployments = of_kind(render(values), "Deployment")
    assert f"{RELEASE}-planner" not in deployments
    executor = deployments[f"{RELEASE}-executor"]
    assert executor["spec"]["replicas"] == 3
    assert "topologySpreadConstraints" not in pod_spec(executor)
    c = container(executor)
    assert c["image"] == "registry.example/pulse/executor:1.2.4"
    assert c["imagePullPolicy"] == "Always"
    assert c["resources"]["limits"]["memory"] == "1Gi"
    assert c["resources"]["requests"]["memory"] == "128Mi"
    env = env_of(c)
    assert env["PULSE_LOG_LEVEL"]["value"] == "DEBUG"
    assert env["PULSE_MAX_WORKERS"]["value"] == "32"
    assert env["PULSE_NATS_URL"]["value"] == "nats://nats-a:4222,nats://nats-b:4222"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector:4318"
    archiver = container(deployments[f"{RELEASE}-archiver"])
    assert archiver["image"] == "registry.example/pulse/archiver@sha256:" + "a" * 64
    assert env_of(archiver)["PULSE_LOG_LEVEL"]["value"] == "INFO"
    assert container(deployments[f"{RELEASE}-gateway"])["image"] == "other.example/gw:1.2.3"
    assert "topologySpreadConstraints" in pod_spec(deployments[f"{RELEASE}-gateway"])


@pytest.mark.parametrize("name", ["PULSE_NATS_URL", "PULSE_HTTP_PORT", "PULSE_AGENTS_FILE"])
def test_chart_managed_variables_cannot_be_overridden_by_env(
    helm: Any, render: Render, name: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=name):
        render(merged(CREDENTIALS, {"env": {name: "elsewhere"}}))


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"components": {"agent_adapter": {"enabled": True}}}, "agent_adapter"),
        ({"components": {"planner": {"replica": 2}}}, "replica"),
        ({"autoscalling": {"enabled": True}}, "autoscalling"),
        ({"keda": {"lagTreshold": 10}}, "lagTreshold"),
        ({"externalNats": {"url": "nats:4222"}}, "/externalNats/url"),
        ({"natsAuth": {"passwords": {"gatewya": "x"}}}, "gatewya"),
        ({"components": {"executor": {"bus": {"consumers": [{"stream": "S"}]}}}}, "durable"),
    ],
)
def test_the_schema_catches_typos(
    helm: Any, render: Render, values: dict[str, Any], where: str
) -> None:
    with pytest.raises(helm.HelmValuesError, match=re.escape(where)):
        render(merged(CREDENTIALS, values))


def test_gateway_and_metrics_services(manifests: list[Manifest]) -> None:
    services = of_kind(manifests, "Service")
    assert sorted(services) == sorted(
        [f"{RELEASE}-gateway"] + [f"{RELEASE}-{name}-metrics" for name in COMPONENTS]
    )
    api = services[f"{RELEASE}-gateway"]["spec"]
    assert api["selector"]["app.kubernetes.io/component"] == "gateway"
    assert api["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    for name, port in COMPONENTS.items():
        metrics = services[f"{RELEASE}-{name}-metrics"]
        assert metrics["spec"]["selector"]["app.kubernetes.io/component"] == name
        assert metrics["spec"]["ports"] == [
            {"name": "http-metrics", "port": port, "targetPort": "http", "protocol": "TCP"}
        ]


def test_provider_keys_reach_only_the_agent_adapter(render: Render) -> None:
    values = merged(
        CREDENTIALS, {"secrets": {"providerKeys": {"OPENAI_API_KEY": "sk-test", "X_KEY": "x"}}}
    )
    manifests = render(values)
    providers = of_kind(manifests, "Secret")[f"{RELEASE}-providers"]
    decoded = {k: base64.b64decode(v).decode() for k, v in providers["data"].items()}
    assert decoded == {"OPENAI_API_KEY": "sk-test", "X_KEY": "x"}
    for name, deployment in of_kind(manifests, "Deployment").items():
        sources = container(deployment).get("envFrom", [])
        if name == f"{RELEASE}-agent-adapter":
            assert sources == [{"secretRef": {"name": f"{RELEASE}-providers"}}]
        else:
            assert sources == []


def test_agent_profiles_and_prices_are_mounted_into_the_agent_adapter(render: Render) -> None:
    values = merged(
        CREDENTIALS,
        {"agents": {"profiles": {"agents": {"a": {"model": "m"}}}, "prices": {"m": 0.5}}},
    )
    manifests = render(values)
    config = of_kind(manifests, "ConfigMap")[f"{RELEASE}-agents"]
    assert set(config["data"]) == {"agents.yaml", "prices.yaml"}
    adapter = of_kind(manifests, "Deployment")[f"{RELEASE}-agent-adapter"]
    env = env_of(container(adapter))
    assert env["PULSE_AGENTS_FILE"]["value"] == "/etc/pulse/agents.yaml"
    assert env["PULSE_PRICES_FILE"]["value"] == "/etc/pulse/prices.yaml"
    mounts = {m["name"]: m for m in container(adapter)["volumeMounts"]}
    assert mounts["agents"] == {"name": "agents", "mountPath": "/etc/pulse", "readOnly": True}
    volumes = {v["name"]: v for v in pod_spec(adapter)["volumes"]}
    assert volumes["agents"]["configMap"]["name"] == f"{RELEASE}-agents"
    planner = of_kind(manifests, "Deployment")[f"{RELEASE}-planner"]
    assert "PULSE_AGENTS_FILE" not in env_of(container(planner))


def test_setup_job_provisions_then_migrates(manifests: list[Manifest]) -> None:
    job = of_kind(manifests, "Job")[f"{RELEASE}-setup"]
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    spec = pod_spec(job)
    assert [c["command"] for c in spec["initContainers"]] == [["pulse-archiver", "provision"]]
    assert [c["command"] for c in spec["containers"]] == [["pulse-archiver", "migrate"]]
    assert spec["restartPolicy"] == "Never"
    provision, migrate = spec["initContainers"][0], spec["containers"][0]
    assert env_of(provision)["PULSE_NATS_URL"]["value"] == "nats://nats:4222"
    assert "PULSE_DATABASE_URL" not in env_of(provision)
    ref = env_of(migrate)["PULSE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    # The hook runs before the release's Secret exists: it reads a hook Secret made first.
    hook_secret = of_kind(manifests, "Secret")[ref["name"]]
    secret_hooks = hook_secret["metadata"]["annotations"]
    assert secret_hooks["helm.sh/hook"] == hooks["helm.sh/hook"]
    assert int(secret_hooks["helm.sh/hook-weight"]) < int(hooks["helm.sh/hook-weight"])
    assert set(hook_secret["data"]) == {"database-url"}
    assert migrate["image"] == provision["image"] == "pulse/archiver:0.1.0"


@pytest.mark.parametrize("command", ["migrate", "provision"])
def test_the_setup_commands_exist(
    values_file: Callable[[str], dict[str, Any]], command: str
) -> None:
    """The Job calls `pulse-archiver <command>` (values.yaml setup.*Command)."""
    defaults = values_file("values.yaml")["setup"]
    assert defaults[f"{command}Command"] == ["pulse-archiver", command]
    result = subprocess.run(
        [sys.executable, "-m", "pulse_archiver", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    if command == "provision" and command not in result.stdout:
        # Until it lands, the services provision at start-up; see docs/kubernetes.md.
        pytest.xfail("pulse-archiver has no `provision` command yet")
    assert command in result.stdout
