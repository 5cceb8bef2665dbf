"""The executor's settings, read from `PULSE_*` environment variables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from pulse_settings import ServiceSettings

__all__ = ["Settings"]


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "executor"

    http_port: int = Field(default=8082, ge=0, le=65535)
    state_update_attempts: int = Field(
        default=50,
        ge=1,
        description="Compare-and-set tries of one run-state change before the message is "
        "handed back for redelivery (each conflict means another replica wrote first).",
    )
    state_conflict_backoff_ms: float = Field(
        default=2.0,
        gt=0,
        description="Upper bound of the jittered pause after a conflict, times the try number.",
    )
