from __future__ import annotations

import json

import pytest

from pulse_contracts import subjects
from pulse_planner import PlannerSettings, asyncapi, create_app
from pulse_telemetry import Telemetry


def test_settings_default_to_port_8081_and_read_pulse_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert PlannerSettings.service_name == "planner"
    assert PlannerSettings().http_port == 8081
    monkeypatch.setenv("PULSE_HTTP_PORT", "9999")
    monkeypatch.setenv("PULSE_NATS_URL", "nats://127.0.0.1:5555")
    settings = PlannerSettings()
    assert (settings.http_port, settings.nats_url) == (9999, "nats://127.0.0.1:5555")


def test_the_asyncapi_document_shows_what_the_planner_consumes_and_publishes(
    settings: PlannerSettings, telemetry: Telemetry
) -> None:
    document = json.loads(
        asyncapi(create_app(settings, telemetry=telemetry)).to_specification().to_json()
    )
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {subjects.RUNS_REQUESTED, subjects.PLANS_CREATED, subjects.PLANS_REJECTED} <= addresses
    schemas = set(document["components"]["schemas"])
    assert {"RunRequested", "PlanCreated", "PlanRejected"} <= schemas
    actions = sorted(op["action"] for op in document["operations"].values())
    assert actions == ["receive", "send", "send"]


def test_the_default_mode_plans_by_rules_offline(settings: PlannerSettings) -> None:
    assert settings.planner_mode == "rule"
    assert settings.planner_cache
    assert not settings.planner_semantic_cache


def test_auto_and_llm_modes_build_the_pipeline(settings: PlannerSettings) -> None:
    from prometheus_client import CollectorRegistry

    from pulse_broker import build_broker
    from pulse_planner.app import build_planner
    from pulse_planner.metrics import PlannerMetrics
    from pulse_planner.pipeline import PlanningPipeline, RulePlanning
    from pulse_telemetry import setup_telemetry

    def built(mode: str) -> object:
        chosen = settings.model_copy(update={"planner_mode": mode})
        telemetry = setup_telemetry(chosen, install_global=False)
        broker = build_broker(chosen, telemetry)
        return build_planner(chosen, broker, PlannerMetrics(CollectorRegistry()))

    assert isinstance(built("rule"), RulePlanning)
    auto, llm = built("auto"), built("llm")
    assert isinstance(auto, PlanningPipeline)
    assert isinstance(llm, PlanningPipeline)
    assert (auto.name, llm.name) == ("auto", "llm")


def test_the_llm_budget_must_fit_in_the_ack_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_PLANNER_MODE", "auto")
    monkeypatch.setenv("PULSE_PLANNER_AGENT_SIMPLE", "cheap")
    monkeypatch.setenv("PULSE_PLANNER_BUDGET_S", "40")
    with pytest.raises(ValueError, match="PULSE_PLANNER_BUDGET_S"):
        PlannerSettings()
    monkeypatch.setenv("PULSE_ACK_WAIT_S", "60")
    settings = PlannerSettings()
    assert (settings.planner_mode, settings.planner_agent_simple) == ("auto", "cheap")
    monkeypatch.setenv("PULSE_PLANNER_MODE", "rule")
    monkeypatch.setenv("PULSE_ACK_WAIT_S", "30")
    assert PlannerSettings().planner_budget_s == 40  # the rules never use it


def test_the_semantic_cache_is_skipped_cleanly_without_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from pulse_planner.adapters import minilm

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "torch" else real(name, *a),
    )
    assert not minilm.minilm_available()
    assert minilm.minilm_embedder() is None
