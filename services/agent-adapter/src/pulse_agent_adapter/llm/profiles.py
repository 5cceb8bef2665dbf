"""Agent profiles: named ways of calling an LLM, from `PULSE_AGENTS_FILE` and the settings.

The file (YAML; the Helm chart mounts it at /etc/pulse/agents.yaml):

```yaml
providers:                  # optional: offline, openai and anthropic always exist
  groq:
    kind: openai            # openai (any OpenAI-compatible server) | anthropic | offline
    base_url: https://api.groq.com/openai/v1
    max_concurrency: 8
agents:
  default:
    provider: openai
    model: gpt-4o-mini
    system_prompt: You are a precise assistant.
    max_tokens: 512
    temperature: 0.2
    fallback: [claude, offline]
  claude: {provider: anthropic, model: claude-3-5-haiku-latest, stream: true}
budgets:
  acme: {limit_usd: 25, period: month}
```

Without a file (or without a `default` agent in it) `default` is `PULSE_LLM_PROVIDER` /
`PULSE_LLM_MODEL`, and `offline` is always there. Names in fallback chains are checked
when the file is loaded, so a typo fails the start, not a call at 3 a.m.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pulse_agent_adapter.domain.llm_errors import UnknownAgent
from pulse_agent_adapter.llm.accounting.budgets import BudgetPolicy
from pulse_agent_adapter.llm.accounting.guard import GuardMode
from pulse_agent_adapter.llm.accounting.prices import ModelPrice

__all__ = [
    "DEFAULT_CONTEXT_WINDOWS",
    "AgentDirectory",
    "AgentLimits",
    "AgentProfile",
    "AgentsFile",
    "ProviderConfig",
    "ProviderKind",
    "context_window_of",
    "load_agents_file",
]

ProviderKind = Literal["openai", "anthropic", "offline"]

DEFAULT_CONTEXT_WINDOWS: Final[dict[str, int]] = {
    "offline-1": 32_768,
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4": 200_000,
    "claude": 200_000,
}
"""By the longest matching prefix of the model name."""


def context_window_of(model: str, default: int) -> int:
    matches = [name for name in DEFAULT_CONTEXT_WINDOWS if model.startswith(name)]
    return DEFAULT_CONTEXT_WINDOWS[max(matches, key=len)] if matches else default


class ProviderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ProviderKind
    base_url: str | None = Field(default=None, description="None: the kind's default URL.")
    timeout_s: float | None = Field(default=None, gt=0, description="Per request attempt.")
    max_retries: int | None = Field(default=None, ge=0, le=10)
    max_concurrency: int | None = Field(default=None, ge=1, le=10_000)
    max_queue: int | None = Field(default=None, ge=0, le=100_000)
    max_connections: int | None = Field(default=None, ge=1, le=10_000)
    latency_ms: int = Field(default=0, ge=0, description="offline only: simulated latency.")


class AgentLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int | None = Field(default=None, gt=0, description="Cap on any call's max_tokens.")
    max_concurrency: int | None = Field(default=None, ge=1, description="Calls at once.")


class AgentProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    provider: str = "offline"
    model: str = "offline-1"
    system_prompt: str | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: list[str] = Field(default_factory=list, max_length=4)
    context_window: int | None = Field(default=None, gt=0)
    fallback: list[str] = Field(default_factory=list)
    stream: bool = Field(default=False, description="Call the provider with streaming.")
    token_guard: GuardMode = "truncate"
    cache: bool = True
    limits: AgentLimits = Field(default_factory=AgentLimits)
    prices: ModelPrice | None = None


class AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    agents: dict[str, AgentProfile] = Field(default_factory=dict)
    budgets: dict[str, BudgetPolicy] = Field(default_factory=dict)


def load_agents_file(path: Path | None) -> AgentsFile:
    if path is None:
        return AgentsFile()
    loaded: Any = yaml.safe_load(path.read_text()) or {}
    try:
        return AgentsFile.model_validate(loaded)
    except ValidationError as exc:
        raise ValueError(f"{path} is not a valid agents file:\n{exc}") from None


class AgentDirectory:
    """Profiles by name and the providers they use; validated as a whole."""

    def __init__(
        self, agents: dict[str, AgentProfile], providers: dict[str, ProviderConfig]
    ) -> None:
        self.agents = {name: a.model_copy(update={"name": name}) for name, a in agents.items()}
        self.providers = providers
        problems = [
            f"agent {a.name!r} uses unknown provider {a.provider!r}"
            for a in self.agents.values()
            if a.provider not in providers
        ] + [
            f"agent {a.name!r} falls back to unknown agent {f!r}"
            for a in self.agents.values()
            for f in a.fallback
            if f not in self.agents
        ]
        if problems:
            raise ValueError("; ".join(problems))

    def get(self, name: str) -> AgentProfile:
        try:
            return self.agents[name]
        except KeyError:
            known = ", ".join(sorted(self.agents))
            raise UnknownAgent(f"no agent named {name!r} (known: {known})") from None

    def chain(self, name: str) -> list[AgentProfile]:
        """The agent, then its fallbacks in order (each once, the agent itself not again)."""
        first = self.get(name)
        seen = {first.name}
        chain = [first]
        for fallback in first.fallback:
            if fallback not in seen:
                seen.add(fallback)
                chain.append(self.agents[fallback])
        return chain

    def provider_of(self, agent: AgentProfile) -> ProviderConfig:
        return self.providers[agent.provider]
