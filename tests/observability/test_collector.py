"""The OpenTelemetry Collector config: OTLP in over gRPC and HTTP, traces out to an OTLP
backend, every pipeline built from components the file defines."""

from __future__ import annotations

from typing import Any

import yaml

from tests.observability.files import COLLECTOR

CONFIG: dict[str, Any] = yaml.safe_load(COLLECTOR.read_text())
PIPELINES: dict[str, dict[str, list[str]]] = CONFIG["service"]["pipelines"]


def test_pipelines_use_only_defined_components() -> None:
    for name, pipeline in PIPELINES.items():
        assert pipeline["receivers"], name
        assert pipeline["exporters"], name
        for kind in ("receivers", "processors", "exporters"):
            missing = set(pipeline.get(kind, [])) - set(CONFIG.get(kind) or {})
            assert not missing, f"pipeline {name} uses undefined {kind} {sorted(missing)}"
    extensions = set(CONFIG["service"].get("extensions", []))
    assert extensions <= set(CONFIG.get("extensions") or {})


def test_every_defined_component_is_used() -> None:
    for kind in ("receivers", "processors", "exporters"):
        used = {c for pipeline in PIPELINES.values() for c in pipeline.get(kind, [])}
        assert set(CONFIG[kind]) == used, f"unused {kind}: {sorted(set(CONFIG[kind]) - used)}"


def test_otlp_comes_in_over_grpc_and_http() -> None:
    protocols = CONFIG["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")


def test_traces_go_to_an_otlp_backend_and_debug() -> None:
    traces = PIPELINES["traces"]
    assert "otlp" in traces["receivers"]
    assert any(e.split("/")[0] == "otlp" for e in traces["exporters"])
    assert "debug" in traces["exporters"]


def test_memory_limiter_first_and_batch_last() -> None:
    for name, pipeline in PIPELINES.items():
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", name
        assert processors[-1] == "batch", name


def test_sampling_keeps_every_run_and_every_error() -> None:
    """The trace `pulse trace <run_id>` names must be in the backend: all runs are kept."""
    policies = {p["type"]: p for p in CONFIG["processors"]["tail_sampling"]["policies"]}
    runs = policies["string_attribute"]["string_attribute"]
    assert runs["key"] == "pulse.run_id"
    assert runs["enabled_regex_matching"] is True
    assert runs["values"] == [".+"]
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]


def test_scrubbing_only_deletes_secrets() -> None:
    actions = CONFIG["processors"]["attributes/scrub"]["actions"]
    assert {a["action"] for a in actions} == {"delete"}
    assert all(a["key"].startswith("http.request.header.") for a in actions)
