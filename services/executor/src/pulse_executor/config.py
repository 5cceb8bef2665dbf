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
    state_cache_runs: int = Field(
        default=1024,
        ge=0,
        description="Run states this replica wrote last that it keeps to decide the next "
        "change without reading the KV bucket (the compare-and-set write still checks "
        "them). 0 reads every time.",
    )
    run_deadline_s: float = Field(
        default=3600.0,
        gt=0,
        le=7 * 24 * 3600,
        description="A run's deadline when its request names none: past it, a run still "
        "working ends failed (deadline_exceeded). Counted from the start (and each restart).",
    )
    step_timeout_grace_s: float = Field(
        default=5.0,
        ge=0,
        description="Added to a step's timeout_s before the executor's own timeout timer "
        "fires, so an agent-adapter that enforces the timeout itself reports first.",
    )
    large_output_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="A resolved step input whose JSON is larger goes out with its largest "
        "fields in the object store (the agent-adapter's setting of the same name does "
        "this for outputs).",
    )
    run_state_budget_bytes: int = Field(
        default=512 * 1024,
        ge=16 * 1024,
        le=64 * 1024 * 1024,
        description="The most a run document in the KV bucket may hold inline: above it, its "
        "largest step outputs and inputs move to the object store. Keep it under NATS' "
        "max_payload (1 MiB by default), which also bounds a RunCompleted's result.",
    )
