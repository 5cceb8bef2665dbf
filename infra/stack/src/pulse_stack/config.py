"""Settings of the local stack launcher (`pulse-stack`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["StackSettings"]


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    nats_url: str | None = Field(default=None, description="Use this NATS instead of starting one.")
    database_url: str | None = Field(
        default=None, description="Use this PostgreSQL (SQLAlchemy URL) instead of starting one."
    )
    state_dir: Path = Field(default=Path(".pulse"), description="Data and logs of `make up`.")
    gateway_port: int = Field(default=8080, description="Preferred; a free port is used if taken.")
    api_keys: str = Field(default="pulse-dev-key=default")
    log_format: str = "json"
    ready_timeout_s: float = 60.0
