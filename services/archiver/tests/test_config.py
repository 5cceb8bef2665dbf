"""Settings: archiver defaults and the database URL normalisation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pulse_archiver.config import Settings, to_async_url


def test_defaults_favour_delay_over_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PULSE_MAX_DELIVER",
        "PULSE_REDELIVERY_BACKOFF_S",
        "PULSE_HTTP_PORT",
        "PULSE_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert Settings.service_name == "archiver"
    assert settings.http_port == 8084
    assert settings.max_deliver == 1000
    assert settings.redelivery_backoff_s == (1.0, 2.0, 5.0, 10.0, 15.0)
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/pulse"


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_DATABASE_URL", "postgresql://u:p%40ss@db.internal:6543/archive")
    assert Settings().database_url == "postgresql+asyncpg://u:p%40ss@db.internal:6543/archive"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://postgres@127.0.0.1/pulse", "postgresql+asyncpg://postgres@127.0.0.1/pulse"),
        ("postgres://postgres@127.0.0.1/pulse", "postgresql+asyncpg://postgres@127.0.0.1/pulse"),
        ("postgresql+psycopg://h/pulse", "postgresql+asyncpg://h/pulse"),
        ("postgresql+asyncpg://h/pulse", "postgresql+asyncpg://h/pulse"),
        ("postgresql://h/pulse?sslmode=require", "postgresql+asyncpg://h/pulse?ssl=require"),
        (
            "postgresql://postgres:@/postgres?host=/tmp/sock",
            "postgresql+asyncpg://postgres:@/postgres?host=%2Ftmp%2Fsock",
        ),
    ],
)
def test_to_async_url(given: str, expected: str) -> None:
    assert to_async_url(given) == expected


@pytest.mark.parametrize("bad", ["mysql://h/db", "not a url"])
def test_other_databases_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        Settings(database_url=bad)
