"""The agent-adapter's settings, read from `PULSE_*` environment variables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from pulse_agent_adapter.llm.settings import LlmSettings

__all__ = ["Settings"]


class Settings(LlmSettings):
    service_name: ClassVar[str] = "agent-adapter"

    http_port: int = Field(default=8083, ge=0, le=65535)
    # Tools mostly wait (an LLM answers in seconds), so a replica keeps many attempts in
    # flight; at 16, the shared default, three parallel steps of ten runs already queued
    # behind each other for a whole answer. The providers' own limits still apply.
    max_workers: int = Field(
        default=64, ge=1, description="Task attempts handled at once per consumer."
    )

    todo_max_items: int = Field(default=1000, ge=1, description="Todos one tenant may hold.")
    large_output_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Outputs whose JSON is larger go to the object store, and the result "
        "carries a reference: keep it well below NATS' max_payload (1 MiB by default).",
    )
