"""The archiver's settings: the shared ones plus PostgreSQL, read from `PULSE_*` variables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from pulse_settings import ServiceSettings

__all__ = ["ASYNC_DRIVER", "Settings", "to_async_url"]

ASYNC_DRIVER = "postgresql+asyncpg"


def to_async_url(url: str) -> str:
    """A PostgreSQL URL in the form SQLAlchemy's asyncpg dialect takes.

    Plain `postgresql://` / `postgres://` URLs (and other PostgreSQL drivers) are turned into
    `postgresql+asyncpg://`, and libpq's `sslmode` becomes asyncpg's `ssl`, so the URL
    another tool uses works here unchanged.
    """
    try:
        parsed: URL = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("postgresql", "postgres"):
        raise ValueError(f"the archiver needs PostgreSQL, got a {backend!r} URL")
    parsed = parsed.set(drivername=ASYNC_DRIVER)
    query = dict(parsed.query)
    if "sslmode" in query:
        sslmode = query.pop("sslmode")
        query.setdefault("ssl", sslmode)
        parsed = parsed.set(query=query)
    return parsed.render_as_string(hide_password=False)


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "archiver"

    http_port: int = Field(default=8084, ge=0, le=65535)

    # A PostgreSQL outage must delay archiving, never lose an event: keep redelivering for
    # hours (1000 deliveries, the last ones 15 s apart) before anything is dead-lettered.
    max_deliver: int = Field(default=1000, ge=1, description="Deliveries before a dead letter.")
    redelivery_backoff_s: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 15.0)

    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/pulse",
        description="SQLAlchemy URL of the archive (PULSE_DATABASE_URL); postgresql:// works too.",
    )
    database_pool_size: int = Field(default=5, ge=1, le=200)
    database_max_overflow: int = Field(default=5, ge=0, le=200)
    database_timeout_s: float = Field(
        default=5.0, gt=0, description="Connect timeout, and how long a readiness check may take."
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return to_async_url(value)
