"""The planner's settings: the shared `PULSE_*` ones plus its own HTTP port."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from pulse_settings import ServiceSettings

__all__ = ["PlannerSettings"]


class PlannerSettings(ServiceSettings):
    service_name: ClassVar[str] = "planner"

    http_port: int = Field(
        default=8081, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics."
    )
