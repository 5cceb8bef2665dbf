from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["LogFormat", "ServiceSettings"]

LogFormat = Literal["json", "text"]


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set `service_name` and `http_port`'s default."""

    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "pulse"

    nats_url: str = Field(
        default="nats://127.0.0.1:4222", description="NATS server(s), comma separated."
    )
    nats_inbox_prefix: str = Field(
        default="_INBOX",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Reply-inbox prefix; per-service prefixes let NATS permissions keep replies private.",
    )
    provision_streams: bool = Field(
        default=True,
        description="Create/update streams at start. Off when a setup job provisions and the "
        "service's NATS user may not manage streams.",
    )
    http_host: str = Field(
        default="127.0.0.1",
        description="Address of the HTTP server (API or health/metrics); 0.0.0.0 in containers.",
    )
    http_port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: LogFormat = "json"

    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PULSE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="OTLP collector; spans are exported only when this is set.",
    )
    otlp_protocol: Literal["grpc", "http/protobuf"] = Field(
        default="http/protobuf",
        validation_alias=AliasChoices("PULSE_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
    )
    gc_young_threshold: int = Field(
        default=20_000,
        ge=0,
        description="Allocations between collections of Python's young generation; objects "
        "alive at start-up are frozen. 0 keeps CPython's defaults (700, nothing frozen).",
    )
    trace_export_delay_ms: int = Field(
        default=1000, ge=10, description="How long finished spans wait to be exported in a batch."
    )

    # Bus behaviour shared by every durable consumer.
    max_deliver: int = Field(default=5, ge=1, description="Deliveries before a dead letter.")
    ack_wait_s: float = Field(default=30.0, gt=0)
    redelivery_backoff_s: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0)
    duplicate_window_s: float = Field(default=120.0, gt=0)
    events_max_age_s: float = Field(default=7 * 24 * 3600, gt=0)
    stream_replicas: int = Field(default=1, ge=1, le=5)
    pull_batch_size: int = Field(default=1, ge=1, le=256)
    max_workers: int = Field(default=16, ge=1, description="Messages handled at once per consumer.")
