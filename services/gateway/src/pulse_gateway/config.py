"""The gateway's settings: the common `PULSE_*` ones plus API keys and request limits."""

from __future__ import annotations

import json
import re
from typing import Annotated, ClassVar, Final

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from pulse_settings import ServiceSettings

__all__ = ["DEVELOPMENT_API_KEY", "Settings", "parse_api_keys"]

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

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: object) -> object:
        return parse_api_keys(value) if isinstance(value, str) else value

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one API key is required")
        for tenant in value.values():
            if not _TENANT.fullmatch(tenant):
                raise ValueError(f"tenant {tenant!r} must match {_TENANT.pattern}")
        return value

    @property
    def uses_development_key(self) -> bool:
        return DEVELOPMENT_API_KEY in self.api_keys
