"""The agent-adapter's settings, read from `PULSE_*` environment variables."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from pulse_settings import ServiceSettings

__all__ = ["Settings"]


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "agent-adapter"

    http_port: int = Field(default=8083, ge=0, le=65535)

    llm_provider: Literal["offline"] = Field(
        default="offline", description="Which LLM provider `llm.complete` calls."
    )
    llm_model: str = Field(default="offline-1", min_length=1)
    llm_max_tokens: int = Field(
        default=512, gt=0, le=8192, description="Completion limit when a step names none."
    )
    offline_latency_ms: int = Field(
        default=0,
        ge=0,
        le=600_000,
        description="Simulated response time of the offline provider, for demos and benchmarks.",
    )
    todo_max_items: int = Field(default=1000, ge=1, description="Todos one tenant may hold.")
