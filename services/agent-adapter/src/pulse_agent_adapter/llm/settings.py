"""The LLM gateway's and the new tools' settings, read from the environment like all others.

A mixin of the service's `Settings` (config.py). Provider keys come from the variables the
vendors document (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`), base URLs from
`PULSE_OPENAI_BASE_URL` / `PULSE_ANTHROPIC_BASE_URL` (or the vendors' `OPENAI_BASE_URL` /
`ANTHROPIC_BASE_URL`), keys of further OpenAI-compatible providers named in the agents
file from `PULSE_PROVIDER_API_KEYS` (JSON: `{"groq": "gsk_..."}`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr

from pulse_agent_adapter.llm.accounting.budgets import BudgetPeriod
from pulse_settings import ServiceSettings

__all__ = ["LlmSettings"]


def _env(name: str, *others: str) -> AliasChoices:
    return AliasChoices(name, f"PULSE_{name.upper()}", *others)


class LlmSettings(ServiceSettings):
    llm_provider: Literal["offline", "openai", "anthropic"] = Field(
        default="offline", description="Provider of the `default` agent when no file sets it."
    )
    llm_model: str = Field(default="offline-1", min_length=1)
    llm_max_tokens: int = Field(
        default=512, gt=0, le=32_768, description="Completion limit when a step names none."
    )
    offline_latency_ms: int = Field(
        default=0,
        ge=0,
        le=600_000,
        description="Simulated response time of the offline provider, for demos and benchmarks.",
    )
    agents_file: Path | None = Field(
        default=None, description="YAML agent profiles (providers, agents, budgets)."
    )
    prices_file: Path | None = Field(
        default=None, description="YAML model prices: models: {name: {prompt_per_1k_usd, ...}}."
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("openai_api_key", "OPENAI_API_KEY")
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=_env("openai_base_url", "OPENAI_BASE_URL"),
    )
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("anthropic_api_key", "ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str = Field(
        default="https://api.anthropic.com",
        validation_alias=_env("anthropic_base_url", "ANTHROPIC_BASE_URL"),
    )
    provider_api_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description="API keys by provider name, for the agents file."
    )

    llm_timeout_s: float = Field(default=10.0, gt=0, description="Per request attempt.")
    llm_call_timeout_s: float = Field(
        default=60.0, gt=0, description="Whole call (retries, fallbacks) when the caller sets none."
    )
    llm_max_retries: int = Field(default=3, ge=0, le=10)
    llm_backoff_initial_s: float = Field(default=0.5, ge=0)
    llm_backoff_max_s: float = Field(default=8.0, ge=0)
    llm_retry_after_max_s: float = Field(default=30.0, ge=0, description="Cap on Retry-After.")
    llm_breaker_failures: int = Field(default=5, ge=1, description="Consecutive, to open.")
    llm_breaker_cool_down_s: float = Field(default=30.0, ge=0)
    llm_max_concurrency: int = Field(default=32, ge=1, description="Calls at once per provider.")
    llm_max_queue: int = Field(default=256, ge=0, description="Calls waiting per provider.")
    llm_max_wait_s: float = Field(default=10.0, ge=0, description="Longest wait for a slot.")
    llm_max_connections: int = Field(default=64, ge=1, description="HTTP pool per provider.")
    llm_context_window: int = Field(
        default=8192, gt=0, description="Context of models the built-in table does not know."
    )
    llm_batch_concurrency: int = Field(default=16, ge=1, description="llm.batch prompts at once.")
    llm_endpoint_concurrency: int = Field(
        default=64, ge=1, description="pulse.llm.requests answered at once per replica."
    )

    llm_cache: bool = Field(default=True, description="Cache completions (memory + KV).")
    llm_cache_ttl_s: float = Field(default=3600.0, gt=0)
    llm_cache_max_entries: int = Field(default=4096, ge=1, description="In-process LRU size.")
    llm_semantic_cache: bool = Field(
        default=False, description="Semantic layer (needs the `semantic` extra)."
    )
    llm_semantic_threshold: float = Field(default=0.92, gt=0, le=1)

    llm_budgets: dict[str, float] = Field(
        default_factory=dict, description='USD per tenant and period, JSON: {"acme": 25}.'
    )
    llm_budget_period: BudgetPeriod = "month"
    llm_reservation_ttl_s: float = Field(default=600.0, gt=0)
    llm_usage_flush_s: float = Field(default=2.0, gt=0)

    http_get_allow: list[str] = Field(
        default_factory=list,
        description="Hosts or CIDR networks http.get may reach although not public.",
    )
    http_get_max_bytes: int = Field(default=1_000_000, ge=1, le=50_000_000)
    http_get_timeout_s: float = Field(default=10.0, gt=0, le=300)
    http_get_max_redirects: int = Field(default=3, ge=0, le=10)
    tool_plugins: bool = Field(default=True, description="Load `pulse.tools` entry points.")
