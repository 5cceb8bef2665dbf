"""The Helm chart, rendered offline by Helm's own Go library (the helm-python-sdk wheel).

Nothing is installed: the chart is rendered with a set of values and the manifests are read
back. The tests skip, saying why, when the Helm library or PyYAML is not installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

helm = pytest.importorskip("helm_python", reason="helm-python-sdk (Helm's library) is missing")
yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the rendered manifests")

CHART = Path(__file__).resolve().parents[2] / "helm" / "pulse"
RELEASE = "pulse"
COMPONENTS = {
    "gateway": 8080,
    "planner": 8081,
    "executor": 8082,
    "agent-adapter": 8083,
    "archiver": 8084,
}
CREDENTIALS: dict[str, Any] = {
    "secrets": {
        "databaseUrl": "postgresql+asyncpg://pulse:secret@db.example:5432/pulse",
        "apiKeys": "key-1=tenant-a",
    }
}
HARDENED = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}

Manifest = dict[str, Any]


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def render(values: dict[str, Any] | None = None) -> list[Manifest]:
    rendered = helm.Chart.load(CHART).render(
        values or {}, name=RELEASE, namespace="pulse", is_install=True
    )
    manifests: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return manifests


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def container(manifest: Manifest) -> dict[str, Any]:
    containers = manifest["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    first: dict[str, Any] = containers[0]
    return first


def env_of(manifest: Manifest) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container(manifest)["env"]}


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    return render(CREDENTIALS)


@pytest.fixture(scope="module")
def deployments(manifests: list[Manifest]) -> dict[str, Manifest]:
    return of_kind(manifests, "Deployment")


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "pulse"
    assert chart["version"] == "0.1.0"
    assert chart["appVersion"] == "0.1.0"


def test_lint_reports_no_errors_or_warnings() -> None:
    report = helm.lint(CHART, CREDENTIALS, strict=True)
    assert report["errors"] == []
    # Severity 1 is informational (e.g. "icon is recommended").
    assert [m for m in report["messages"] if m["severity"] > 1] == []


def test_one_deployment_per_component(deployments: dict[str, Manifest]) -> None:
    assert sorted(deployments) == sorted(f"{RELEASE}-{name}" for name in COMPONENTS)


@pytest.mark.parametrize(("name", "port"), sorted(COMPONENTS.items()))
def test_component_deployment(deployments: dict[str, Manifest], name: str, port: int) -> None:
    deployment = deployments[f"{RELEASE}-{name}"]
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert labels["app.kubernetes.io/component"] == name
    assert deployment["spec"]["template"]["metadata"]["labels"].items() >= labels.items()
    assert deployment["spec"]["replicas"] == 1
    c = container(deployment)
    assert c["image"] == f"pulse/{name}:0.1.0"
    assert c["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["resources"]["requests"]
    assert c["resources"]["limits"]
    env = env_of(deployment)
    assert env["PULSE_NATS_URL"]["value"] == "nats://nats:4222"
    assert env["PULSE_HTTP_PORT"]["value"] == str(port)
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_is_hardened(deployments: dict[str, Manifest], name: str) -> None:
    pod = deployments[f"{RELEASE}-{name}"]["spec"]["template"]["spec"]
    c = container(deployments[f"{RELEASE}-{name}"])
    assert c["securityContext"].items() >= HARDENED.items()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert c["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert [v["name"] for v in pod["volumes"] if "emptyDir" in v] == ["tmp"]


def test_credentials_come_from_the_secret(
    manifests: list[Manifest], deployments: dict[str, Manifest]
) -> None:
    secrets = of_kind(manifests, "Secret")
    assert set(secrets[RELEASE]["data"]) == {"database-url", "api-keys"}
    archiver = env_of(deployments[f"{RELEASE}-archiver"])
    gateway = env_of(deployments[f"{RELEASE}-gateway"])
    assert archiver["PULSE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": RELEASE,
        "key": "database-url",
    }
    assert gateway["PULSE_API_KEYS"]["valueFrom"]["secretKeyRef"] == {
        "name": RELEASE,
        "key": "api-keys",
    }
    assert "PULSE_API_KEYS" not in archiver
    assert "PULSE_DATABASE_URL" not in gateway
    # Each Deployment that reads the Secret rolls when it changes.
    for name in ("archiver", "gateway"):
        annotations = deployments[f"{RELEASE}-{name}"]["spec"]["template"]["metadata"]
        assert "checksum/secret" in annotations["annotations"]


def test_existing_secret_replaces_the_charts() -> None:
    manifests = render({"secrets": {"existingSecret": "pulse-credentials"}})
    assert of_kind(manifests, "Secret") == {}
    deployments = of_kind(manifests, "Deployment")
    ref = env_of(deployments[f"{RELEASE}-archiver"])["PULSE_DATABASE_URL"]["valueFrom"]
    assert ref["secretKeyRef"]["name"] == "pulse-credentials"
    job = of_kind(manifests, "Job")[f"{RELEASE}-migrations"]
    ref = env_of(job)["PULSE_DATABASE_URL"]["valueFrom"]
    assert ref["secretKeyRef"]["name"] == "pulse-credentials"


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"secrets": {"apiKeys": "k"}}, "secrets.databaseUrl"),
        ({"secrets": {"databaseUrl": "postgresql+asyncpg://db/pulse"}}, "secrets.apiKeys"),
    ],
)
def test_a_missing_credential_fails_the_render(values: dict[str, Any], missing: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=missing.replace(".", r"\.")):
        render(values)


def test_a_disabled_component_needs_no_credentials() -> None:
    manifests = render(
        {"secrets": {"apiKeys": "k"}, "components": {"archiver": {"enabled": False}}}
    )
    assert f"{RELEASE}-archiver" not in of_kind(manifests, "Deployment")
    assert of_kind(manifests, "Job") == {}


def test_shared_defaults_and_component_overrides() -> None:
    values = merged(
        CREDENTIALS,
        {
            "image": {"repository": "registry.example/pulse", "tag": "1.2.3"},
            "env": {"PULSE_LOG_LEVEL": "INFO"},
            "nats": {"url": "nats://nats-a:4222,nats://nats-b:4222"},
            "otel": {"endpoint": "http://otel-collector:4318"},
            "components": {
                "executor": {
                    "replicas": 3,
                    "image": {"tag": "1.2.4", "pullPolicy": "Always"},
                    "env": {"PULSE_LOG_LEVEL": "DEBUG", "PULSE_MAX_WORKERS": 32},
                    "resources": {"limits": {"memory": "1Gi"}},
                },
                "gateway": {"image": {"repository": "other.example/gw"}},
                "planner": {"enabled": False},
            },
        },
    )
    deployments = of_kind(render(values), "Deployment")
    assert f"{RELEASE}-planner" not in deployments
    executor = deployments[f"{RELEASE}-executor"]
    assert executor["spec"]["replicas"] == 3
    c = container(executor)
    assert c["image"] == "registry.example/pulse/executor:1.2.4"
    assert c["imagePullPolicy"] == "Always"
    assert c["resources"]["limits"]["memory"] == "1Gi"
    assert c["resources"]["requests"]["memory"] == "128Mi"
    env = env_of(executor)
    assert env["PULSE_LOG_LEVEL"]["value"] == "DEBUG"
    assert env["PULSE_MAX_WORKERS"]["value"] == "32"
    assert env["PULSE_NATS_URL"]["value"] == "nats://nats-a:4222,nats://nats-b:4222"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector:4318"
    archiver = deployments[f"{RELEASE}-archiver"]
    assert container(archiver)["image"] == "registry.example/pulse/archiver:1.2.3"
    assert env_of(archiver)["PULSE_LOG_LEVEL"]["value"] == "INFO"
    assert container(deployments[f"{RELEASE}-gateway"])["image"] == "other.example/gw:1.2.3"


def test_chart_managed_variables_cannot_be_overridden_by_env() -> None:
    with pytest.raises(helm.HelmRenderError, match="PULSE_NATS_URL"):
        render(merged(CREDENTIALS, {"env": {"PULSE_NATS_URL": "nats://elsewhere:4222"}}))


def test_gateway_service(manifests: list[Manifest]) -> None:
    services = of_kind(manifests, "Service")
    assert list(services) == [f"{RELEASE}-gateway"]
    spec = services[f"{RELEASE}-gateway"]["spec"]
    assert spec["selector"]["app.kubernetes.io/component"] == "gateway"
    assert spec["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]


def test_migrations_hook_job(manifests: list[Manifest], deployments: dict[str, Manifest]) -> None:
    job = of_kind(manifests, "Job")[f"{RELEASE}-migrations"]
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    c = container(job)
    assert c["command"] == ["pulse-archiver", "migrate"]
    assert c["image"] == container(deployments[f"{RELEASE}-archiver"])["image"]
    assert c["securityContext"].items() >= HARDENED.items()
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    ref = env_of(job)["PULSE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    # The hook runs before the release's Secret exists, so it reads a hook Secret made first.
    hook_secret = of_kind(manifests, "Secret")[ref["name"]]
    secret_hooks = hook_secret["metadata"]["annotations"]
    assert secret_hooks["helm.sh/hook"] == hooks["helm.sh/hook"]
    assert int(secret_hooks["helm.sh/hook-weight"]) < int(hooks["helm.sh/hook-weight"])
    assert set(hook_secret["data"]) == {"database-url"}


def iter_documents(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    for manifest in manifests:
        yield f"{manifest['kind']}/{manifest['metadata']['name']}", manifest


def test_manifests_match_the_kubernetes_schemas(manifests: list[Manifest]) -> None:
    validator = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate is not installed"
    )
    validate: Callable[..., Any] = validator.validate
    for name, manifest in iter_documents(manifests):
        try:
            validate(manifest, "1.30.0", strict=True)
        except validator.ValidationError as error:
            pytest.fail(f"{name}: {error}")
