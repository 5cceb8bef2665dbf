from __future__ import annotations

import json

import pytest
from faststream import AsyncAPI

from pulse_agent_adapter import Settings, create_app
from pulse_agent_adapter.adapters import InMemoryCounterStore, InMemoryTodoStore, OfflineProvider
from pulse_agent_adapter.app import build_registry, llm_provider


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert Settings.service_name == "agent-adapter"
    assert settings.http_port == 8083
    assert (settings.llm_provider, settings.llm_model) == ("offline", "offline-1")
    monkeypatch.setenv("PULSE_LLM_MODEL", "offline-2")
    monkeypatch.setenv("PULSE_HTTP_PORT", "9000")
    assert (Settings().llm_model, Settings().http_port) == ("offline-2", 9000)
    monkeypatch.setenv("PULSE_LLM_PROVIDER", "openai")
    with pytest.raises(ValueError, match="llm_provider"):
        Settings()


def test_every_builtin_tool_is_registered_with_a_schema() -> None:
    settings = Settings()
    registry = build_registry(
        settings,
        todo_store=InMemoryTodoStore(),
        provider=llm_provider(settings),
        counter_store=InMemoryCounterStore(),
    )
    assert [tool.name for tool in registry.list()] == [
        "calculator",
        "counter.increment",
        "llm.complete",
        "todo.add",
        "todo.list",
    ]
    for tool in registry.list():
        assert tool.description
        assert tool.input_schema["type"] == "object"
    assert isinstance(llm_provider(settings), OfflineProvider)


def test_asyncapi_documents_what_it_consumes_and_publishes() -> None:
    app = create_app(Settings(log_format="text"))
    assert app.broker is not None
    spec = json.loads(AsyncAPI(app.broker).to_specification().to_json())
    addresses = {channel["address"] for channel in spec["channels"].values()}
    assert {"pulse.tasks.dispatch.>", "pulse.tasks.result"} <= addresses
    schemas = spec["components"]["schemas"]
    assert "DispatchTask" in schemas
    assert "TaskFinished" in schemas
