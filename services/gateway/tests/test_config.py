from __future__ import annotations

import pytest
from pydantic import ValidationError

from pulse_gateway import Settings
from pulse_gateway.config import DEVELOPMENT_API_KEY, parse_api_keys


def test_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSE_API_KEYS", raising=False)
    settings = Settings()
    assert settings.http_port == 8080
    assert settings.api_keys == {DEVELOPMENT_API_KEY: "default"}
    assert settings.uses_development_key
    assert settings.max_body_bytes == 1024 * 1024
    assert Settings.service_name == "gateway"


def test_api_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_API_KEYS", "k1=tenantA, k2=tenantB")
    settings = Settings()
    assert settings.api_keys == {"k1": "tenantA", "k2": "tenantB"}
    assert not settings.uses_development_key


def test_api_keys_may_be_json_and_may_contain_equals_signs() -> None:
    assert parse_api_keys('{"a": "t1"}') == {"a": "t1"}
    assert parse_api_keys("abc==t1") == {"abc=": "t1"}


@pytest.mark.parametrize("raw", ["no-tenant", "=t1", "k1=bad tenant", ""])
def test_bad_api_keys_fail_at_start_without_printing_them(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("PULSE_API_KEYS", raw)
    with pytest.raises(ValidationError) as caught:
        Settings()
    if raw:
        assert raw not in str(caught.value)


def test_keys_never_show_in_repr() -> None:
    settings = Settings(api_keys={"super-secret": "t1"})
    assert "super-secret" not in repr(settings)
