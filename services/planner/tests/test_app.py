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
