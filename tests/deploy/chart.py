"""Reading rendered manifests: the helpers the chart tests share (fixtures are in conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "CHART",
    "COMPONENTS",
    "CREDENTIALS",
    "NAMESPACE",
    "RELEASE",
    "ROOT",
    "Manifest",
    "container",
    "containers",
    "env_of",
    "merged",
    "of_kind",
    "pod_spec",
    "workloads",
]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "pulse"
RELEASE = "pulse"
NAMESPACE = "pulse"
COMPONENTS: dict[str, int] = {
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

Manifest = dict[str, Any]


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, maps merged key by key (as Helm layers values files)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def workloads(manifests: list[Manifest]) -> dict[str, Manifest]:
    """Everything that runs pods, by `kind/name`."""
    return {
        f"{m['kind']}/{m['metadata']['name']}": m
        for m in manifests
        if m["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}
    }


def pod_spec(manifest: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
    return spec


def containers(manifest: Manifest) -> list[dict[str, Any]]:
    """Init containers and containers of a workload's pod."""
    spec = pod_spec(manifest)
    return [*spec.get("initContainers", []), *spec["containers"]]


def container(manifest: Manifest, index: int = 0) -> dict[str, Any]:
    first: dict[str, Any] = pod_spec(manifest)["containers"][index]
    return first


def env_of(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A container's environment by name."""
    return {item["name"]: item for item in entry.get("env", [])}
