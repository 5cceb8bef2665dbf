"""The gateway's settings: the common `PULSE_*` ones plus API keys, the archive, request
limits and protection (rate limits, back-pressure, CORS, timeouts)."""

from __future__ import annotations

import json
import re
from typing import Annotated, ClassVar, Final

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from pulse_settings import ServiceSettings

__all__ = ["DEVELOPMENT_API_KEY", "Settings", "parse_api_keys", "parse_origins"]

DEVELOPMENT_API_KEY: Final = "pulse-dev-key"
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_api_keys(raw: str) -> dict[str, str]:
    """`key1=tenantA,key2=tenantB` (or a JSON object) -> {key: tenant}."""
    text = raw.strip()
    if text.startswith("{"):
        loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError("PULSE_API_KEYS as JSON must be an object of key -> tenant")
        return {str(k): str(v) for k, v in loaded.items()}
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, tenant = item.rpartition("=")
        if not sep or not key.strip():
            # Never echo the item: it is a secret.
            raise ValueError("PULSE_API_KEYS entries must look like key=tenant")
        keys[key.strip()] = tenant.strip()
    return keys


def parse_origins(raw: str) -> list[str]:
    """`https://a.example,https://b.example` (or a JSON list) -> the CORS origins."""
    text = raw.strip()
    if text.startswith("["):
        loaded = json.loads(text)
        if not isinstance(loaded, list):
            raise ValueError("PULSE_CORS_ORIGINS as JSON must be a list of origins")
        return [str(item) for item in loaded]
    return [part.strip() for part in text.split(",") if part.strip()]


class Settings(ServiceSettings):
    # Validation errors must not print the API keys they failed on.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    service_name: ClassVar[str] = "gateway"

    http_port: int = Field(default=8080, ge=0, le=65535)
    api_keys: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {DEVELOPMENT_API_KEY: "default"},
        repr=False,
        description="API key -> tenant; env PULSE_API_KEYS as `key1=tenantA,key2=tenantB`.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="Larger request bodies get 413."
    )
    retry_after_s: int = Field(
        default=2, ge=1, description="Retry-After of a 503 while NATS is unreachable."
    )
    readiness_timeout_s: float = Field(default=2.0, gt=0)

    # --- the archive (run history and stored API keys) -----------------------------------
    database_url: str | None = Field(
        default=None,
        repr=False,
        description="PostgreSQL of the archiver (PULSE_DATABASE_URL), read-only use: run "
        "history, usage and stored API keys. Unset: live runs and PULSE_API_KEYS only.",
    )
    database_pool_size: int = Field(default=4, ge=1, le=100)
    database_timeout_s: float = Field(default=5.0, gt=0, description="Per query and connect.")
    api_key_cache_s: float = Field(
        default=10.0,
        ge=0,
        description="How long a stored key's lookup is reused; a revoked key stops working "
        "within this time.",
    )

    # --- protection ------------------------------------------------------------------------
    rate_limit_per_s: float = Field(
        default=20.0, ge=0, description="Requests per second per API key (0: no limit)."
    )
    rate_limit_burst: int = Field(default=40, ge=1, description="Requests a key may save up.")
    max_run_queue: int = Field(
        default=1000,
        ge=0,
        description="Runs waiting for the planner past which POST /v1/runs answers 503 (0: never).",
    )
    queue_check_s: float = Field(
        default=1.0, gt=0, description="How long one reading of the run queue is reused."
    )
    overload_retry_after_s: int = Field(default=5, ge=1, description="Retry-After of that 503.")
    request_timeout_s: float = Field(
        default=30.0, gt=0, description="A request with no answer by then gets 504."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (PULSE_CORS_ORIGINS, "
        "comma separated; `*` for any). Empty: no CORS headers.",
    )

    # --- streaming -------------------------------------------------------------------------
    stream_heartbeat_s: float = Field(
        default=15.0, gt=0, description="Idle time after which SSE/WebSocket send a heartbeat."
    )
    stream_max_s: float = Field(
        default=3600.0, gt=0, description="Longest an event stream stays open."
    )
    live_runs_window_s: float = Field(
        default=900.0,
        gt=0,
        description="How far back GET /v1/runs looks for runs the archive does not have yet.",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: object) -> object:
        return parse_api_keys(value) if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return parse_origins(value) if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for tenant in value.values():
            if not _TENANT.fullmatch(tenant):
                raise ValueError(f"tenant {tenant!r} must match {_TENANT.pattern}")
        return value

    @model_validator(mode="after")
    def _some_key_source(self) -> Settings:
        if not self.api_keys and self.database_url is None:
            raise ValueError(
                "at least one API key is required: set PULSE_API_KEYS, or PULSE_DATABASE_URL "
                "for keys made with `pulse keys create`"
            )
        return self

    @property
    def uses_development_key(self) -> bool:
        return DEVELOPMENT_API_KEY in self.api_keys
