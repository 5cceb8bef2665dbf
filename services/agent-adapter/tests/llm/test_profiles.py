"""Agent profiles from the agents file and the environment; prices from the prices file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain.llm import LlmCall
from pulse_agent_adapter.domain.llm_errors import UnknownAgent
from pulse_agent_adapter.llm import build_directory, build_llm, local_gateway
from pulse_agent_adapter.llm.accounting import ModelPrice, PriceTable, load_prices
from pulse_agent_adapter.llm.providers import (
    AnthropicProvider,
    OfflineProvider,
    OpenAiCompatProvider,
)
from pulse_contracts import ChatMessage, Usage

AGENTS = {
    "providers": {
        "groq": {"kind": "openai", "base_url": "https://api.groq.example/openai/v1"},
        "local": {"kind": "openai", "base_url": "http://127.0.0.1:11434/v1", "max_concurrency": 2},
    },
    "agents": {
        "default": {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "system_prompt": "Be brief.",
            "fallback": ["claude", "offline"],
        },
        "claude": {"provider": "anthropic", "model": "claude-3-5-haiku-latest", "stream": True},
        "fast": {"provider": "groq", "model": "llama-3.1-8b-instant", "limits": {"max_tokens": 64}},
    },
    "budgets": {"acme": {"limit_usd": 25, "period": "day"}},
}


def write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def test_without_a_file_default_is_the_configured_provider_and_offline_exists() -> None:
    directory = build_directory(Settings())
    assert directory.get("default").provider == "offline"
    assert directory.get("offline").model == "offline-1"
    assert set(directory.providers) == {"offline", "openai", "anthropic"}
    openai_default = build_directory(Settings(llm_provider="openai"))
    assert openai_default.get("default").model == "gpt-4o-mini"


def test_the_agents_file_adds_providers_agents_and_chains(tmp_path: Path) -> None:
    directory = build_directory(Settings(agents_file=write(tmp_path, "agents.yaml", AGENTS)))
    assert [a.name for a in directory.chain("default")] == ["default", "claude", "offline"]
    assert directory.get("claude").stream
    assert directory.provider_of(directory.get("fast")).base_url.startswith("https://api.groq")
    with pytest.raises(UnknownAgent, match="no agent named 'nobody'"):
        directory.get("nobody")


@pytest.mark.parametrize(
    ("agents", "problem"),
    [
        ({"a": {"provider": "nope", "model": "m"}}, "unknown provider 'nope'"),
        ({"a": {"provider": "offline", "fallback": ["ghost"]}}, "unknown agent 'ghost'"),
        ({"a": {"provider": "offline", "colour": "red"}}, "colour"),
    ],
)
def test_a_broken_agents_file_fails_the_start(
    tmp_path: Path, agents: dict[str, object], problem: str
) -> None:
    path = write(tmp_path, "agents.yaml", {"agents": agents})
    with pytest.raises(ValueError, match=problem):
        build_directory(Settings(agents_file=path))


def test_providers_get_their_keys_and_urls_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "ak-env")
    monkeypatch.setenv("PULSE_PROVIDER_API_KEYS", '{"groq": "gsk-env"}')
    monkeypatch.setenv("PULSE_OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    settings = Settings(agents_file=write(tmp_path, "agents.yaml", AGENTS))
    assembly = build_llm(settings, CollectorRegistry())
    providers = assembly.gateway.providers
    assert isinstance(providers["offline"], OfflineProvider)
    assert isinstance(providers["anthropic"], AnthropicProvider)
    openai = providers["openai"]
    groq = providers["groq"]
    local = providers["local"]
    assert isinstance(openai, OpenAiCompatProvider)
    assert isinstance(groq, OpenAiCompatProvider)
    assert openai._transport.client.headers["authorization"] == "Bearer sk-env"
    assert str(openai._transport.client.base_url) == "http://127.0.0.1:1/v1/"
    assert groq._transport.client.headers["authorization"] == "Bearer gsk-env"
    assert isinstance(local, OpenAiCompatProvider)
    assert local._transport.client.headers["authorization"] == "Bearer sk-env"  # kind's key
    anthropic = providers["anthropic"]
    assert isinstance(anthropic, AnthropicProvider)
    assert anthropic._transport.client.headers["x-api-key"] == "ak-env"
    assert assembly.budgets["acme"].period == "day"
    assert "sk-env" not in repr(settings)  # secrets stay out of logs


def test_budgets_from_the_environment_override_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_LLM_BUDGETS", '{"acme": 5, "globex": 1.5}')
    monkeypatch.setenv("PULSE_LLM_BUDGET_PERIOD", "total")
    assembly = build_llm(
        Settings(agents_file=write(tmp_path, "agents.yaml", AGENTS)), CollectorRegistry()
    )
    assert assembly.budgets["acme"].limit_usd == 5
    assert assembly.budgets["acme"].period == "total"
    assert assembly.budgets["globex"].limit_usd == 1.5


def test_prices_by_exact_name_provider_and_family(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.yaml",
        {"models": {"my-model": {"prompt_per_1k_usd": 0.5, "completion_per_1k_usd": 1.0}}},
    )
    table = PriceTable().with_overrides(load_prices(path))
    assert table.cost("x", "my-model", Usage(prompt_tokens=1000, completion_tokens=2000)) == 2.5
    assert table.price("openai", "gpt-4o-mini-2024-07-18") == table.price("openai", "gpt-4o-mini")
    assert table.price("openai", "gpt-4o-2024-08-06").prompt_per_1k_usd == 0.0025
    assert table.price("x", "unknown-model") == ModelPrice()
    custom = PriceTable({"p/m": ModelPrice(prompt_per_1k_usd=1), "m": ModelPrice()})
    assert custom.price("p", "m").prompt_per_1k_usd == 1


async def test_a_profile_system_prompt_is_added_unless_the_call_has_one(tmp_path: Path) -> None:
    document = {"agents": {"default": {"provider": "offline", "system_prompt": "Be terse."}}}
    gateway = local_gateway(Settings(agents_file=write(tmp_path, "a.yaml", document)))
    plain = await gateway.complete(LlmCall(messages=(ChatMessage(role="user", content="hi"),)))
    assert plain.usage.prompt_tokens == 3 + 1  # "Be terse." + "hi", at 4 characters a token
