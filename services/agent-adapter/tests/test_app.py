from __future__ import annotations

import json

import pytest
from faststream import AsyncAPI

from pulse_agent_adapter import Settings, create_app
from pulse_agent_adapter.adapters import InMemoryCounterStore, InMemoryTodoStore
from pulse_agent_adapter.app import build_registry
from pulse_agent_adapter.llm import local_gateway
from pulse_agent_adapter.llm.providers import OfflineProvider


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert Settings.service_name == "agent-adapter"
    assert settings.http_port == 8083
    assert (settings.llm_provider, settings.llm_model) == ("offline", "offline-1")
    # Tools wait on providers: more attempts in flight than the shared default of 16.
    assert settings.max_workers == 64
    monkeypatch.setenv("PULSE_MAX_WORKERS", "8")
    assert Settings().max_workers == 8
    monkeypatch.setenv("PULSE_LLM_MODEL", "offline-2")
    monkeypatch.setenv("PULSE_HTTP_PORT", "9000")
    assert (Settings().llm_model, Settings().http_port) == ("offline-2", 9000)
    monkeypatch.setenv("PULSE_LLM_PROVIDER", "openai")
    assert Settings().llm_provider == "openai"
    monkeypatch.setenv("PULSE_LLM_PROVIDER", "gpt")
    with pytest.raises(ValueError, match="llm_provider"):
        Settings()


def test_every_builtin_tool_is_registered_with_a_schema() -> None:
    settings = Settings()
    gateway = local_gateway(settings)
    registry = build_registry(
        settings,
        todo_store=InMemoryTodoStore(),
        llm=gateway,
        counter_store=InMemoryCounterStore(),
    )
    assert [tool.name for tool in registry.list()] == [
        "calculator",
        "counter.increment",
        "http.get",
        "llm.batch",
        "llm.complete",
        "llm.judge",
        "text.extract_code",
        "text.repeat",
        "todo.add",
        "todo.list",
    ]
    for tool in registry.list():
        assert tool.description
        assert tool.input_schema["type"] == "object"
    assert isinstance(gateway.providers["offline"], OfflineProvider)
    assert gateway.directory.get("default").provider == "offline"


def test_every_tool_has_a_versioned_spec_with_schemas() -> None:
    settings = Settings()
    registry = build_registry(
        settings,
        todo_store=InMemoryTodoStore(),
        llm=local_gateway(settings),
        counter_store=InMemoryCounterStore(),
    )
    specs = {spec.name: spec for spec in registry.specs()}
    assert set(specs) == {tool.name for tool in registry.list()}
    for spec in specs.values():
        assert spec.version.count(".") == 2
        assert spec.input_schema["type"] == "object"
    for name in ("http.get", "llm.complete", "llm.judge", "llm.batch", "text.extract_code"):
        assert specs[name].output_schema, name
    assert specs["llm.complete"].version == "1.1.0"


def test_asyncapi_documents_what_it_consumes_and_publishes() -> None:
    app = create_app(Settings(log_format="text"))
    assert app.broker is not None
    spec = json.loads(AsyncAPI(app.broker).to_specification().to_json())
    addresses = {channel["address"] for channel in spec["channels"].values()}
    assert {"pulse.tasks.dispatch.>", "pulse.tasks.result", "pulse.llm.requests"} <= addresses
    schemas = spec["components"]["schemas"]
    assert {"DispatchTask", "TaskFinished", "LlmRequested"} <= set(schemas)
