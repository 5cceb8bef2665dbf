"""The optional NATS and PostgreSQL charts: off by default, and wired in when enabled.

The real charts need the network (`helm dependency build`), so a copy of the chart gets two
stand-ins under charts/ with the same names and versions in range; each renders the values
it receives into a ConfigMap, which is all the parent chart can influence.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import (
    CHART,
    NAMESPACE,
    RELEASE,
    Manifest,
    container,
    containers,
    env_of,
    of_kind,
)

Render = Callable[..., list[Manifest]]

STAND_INS = {"nats": "1.2.0", "postgresql": "16.0.0"}
DUMP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}-values
data:
  values.json: {{ .Values | toJson | quote }}
"""


@pytest.fixture(scope="module")
def chart_with_stand_ins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chart = tmp_path_factory.mktemp("chart") / "pulse"
    shutil.copytree(CHART, chart)
    for name, version in STAND_INS.items():
        sub = chart / "charts" / name
        (sub / "templates").mkdir(parents=True)
        (sub / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
        (sub / "templates" / "values.yaml").write_text(DUMP)
    return chart


def test_the_dependencies_resolve_to_charts_in_range(helm: Any, chart_with_stand_ins: Path) -> None:
    statuses = {d["name"]: d["status"] for d in helm.dependency_list(chart_with_stand_ins)}
    # "unpacked": a chart directory (not an archive) whose version satisfies Chart.yaml.
    assert statuses == {"nats": "unpacked", "postgresql": "unpacked"}


def stand_in_values(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {
        name.removeprefix(f"{RELEASE}-").removesuffix("-values"): json.loads(
            config["data"]["values.json"]
        )
        for name, config in of_kind(manifests, "ConfigMap").items()
        if name.endswith("-values")
    }


def test_disabled_by_default(render: Render, chart_with_stand_ins: Path) -> None:
    values = {"secrets": {"apiKeys": "k=t", "databaseUrl": "postgresql://db/pulse"}}
    assert stand_in_values(render(values, chart=chart_with_stand_ins)) == {}


@pytest.fixture(scope="module")
def bundled(
    render: Render, values_file: Callable[[str], dict[str, Any]], chart_with_stand_ins: Path
) -> list[Manifest]:
    return render(values_file("ci/bundled-values.yaml"), chart=chart_with_stand_ins)


def test_enabled_charts_get_their_values(bundled: list[Manifest]) -> None:
    received = stand_in_values(bundled)
    assert set(received) == {"nats", "postgresql"}
    assert received["nats"]["config"]["jetstream"]["enabled"] is True
    assert received["nats"]["config"]["merge"] == {"$include": "../pulse-auth/auth.conf"}
    volume = received["nats"]["podTemplate"]["patch"][0]["value"]
    assert volume["secret"]["secretName"] == "pulse-nats-auth"
    assert received["postgresql"]["auth"]["username"] == "pulse"


def test_services_use_the_bundled_servers(bundled: list[Manifest]) -> None:
    secrets = of_kind(bundled, "Secret")
    assert "pulse-nats-auth" in secrets, "the NATS stand-in mounts this Secret by name"
    archiver = of_kind(bundled, "Deployment")[f"{RELEASE}-archiver"]
    env = env_of(container(archiver))
    assert env["PULSE_DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{RELEASE}-postgresql",
        "key": "password",
    }
    assert env["PULSE_DATABASE_URL"]["value"] == (
        f"postgresql://pulse:$(PULSE_DATABASE_PASSWORD)@{RELEASE}-postgresql.{NAMESPACE}.svc:5432/pulse"
    )
    # The password variable must come first for Kubernetes to expand it.
    names = [e["name"] for e in container(archiver)["env"]]
    assert names.index("PULSE_DATABASE_PASSWORD") < names.index("PULSE_DATABASE_URL")
    scaled = of_kind(bundled, "ScaledObject")[f"{RELEASE}-planner"]
    endpoint = scaled["spec"]["triggers"][0]["metadata"]["natsServerMonitoringEndpoint"]
    assert endpoint == f"{RELEASE}-nats-headless.{NAMESPACE}.svc:8222"


def test_setup_runs_after_install_when_the_servers_are_bundled(bundled: list[Manifest]) -> None:
    job = of_kind(bundled, "Job")[f"{RELEASE}-setup"]
    # A pre-install hook would run before the bundled servers exist.
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    migrate = next(c for c in containers(job) if c["name"] == "migrate")
    assert "$(PULSE_DATABASE_PASSWORD)" in env_of(migrate)["PULSE_DATABASE_URL"]["value"]
    provision = next(c for c in containers(job) if c["name"] == "provision")
    ref = env_of(provision)["PULSE_NATS_URL"]["valueFrom"]["secretKeyRef"]
    hook_secret = of_kind(bundled, "Secret")[ref["name"]]
    assert hook_secret["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    assert set(hook_secret["data"]) == {"nats-url"}


def test_external_and_bundled_database_exclude_each_other(helm: Any, render: Render) -> None:
    values = {
        "secrets": {"apiKeys": "k=t", "databaseUrl": "postgresql://db/pulse"},
        "postgresql": {"enabled": True},
    }
    with pytest.raises(helm.HelmRenderError, match="choose the external or the bundled"):
        render(values)
