"""Authentication: configured keys in constant time, stored keys by hash, with a cache."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse_gateway.adapters import ArchiveUnavailableError, InMemoryApiKeyDirectory, StoredKey
from pulse_gateway.auth import ApiKeyAuthenticator, StaticApiKeys
from pulse_gateway.domain import Tenant, api_key_hash, display_prefix, new_api_key, static_key_id

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_known_keys_map_to_their_tenant() -> None:
    keys = StaticApiKeys({"k1": "t1", "k2": "t2"})
    assert keys.tenant_for("k1") == Tenant("t1", static_key_id("k1"))
    assert keys.tenant_for("k2") == Tenant("t2", static_key_id("k2"))


def test_unknown_and_partial_keys_are_refused() -> None:
    keys = StaticApiKeys({"k1": "t1"})
    for presented in ("", "k", "k1 ", "K1", "k12", "ключ"):
        assert keys.tenant_for(presented) is None, presented


def test_new_keys_are_random_prefixed_and_hashed_stably() -> None:
    one, two = new_api_key(), new_api_key()
    assert one != two
    assert one.startswith("pulse_")
    assert len(one) >= 40
    assert api_key_hash(one) == api_key_hash(one) != api_key_hash(two)
    assert len(api_key_hash(one)) == 64
    assert display_prefix(one) == one[:12]
    # The id of a configured key never reveals the key.
    assert "k1" not in static_key_id("k1")


def _directory(key: str, *, revoked: bool = False) -> InMemoryApiKeyDirectory:
    stored = StoredKey(
        key_id="k-1",
        tenant="stored-tenant",
        name="ci",
        prefix=display_prefix(key),
        created_at=NOW,
        revoked_at=NOW if revoked else None,
    )
    return InMemoryApiKeyDirectory({api_key_hash(key): stored})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_stored_keys_are_found_by_hash_and_cached() -> None:
    key = new_api_key()
    directory = _directory(key)
    clock = Clock()
    auth = ApiKeyAuthenticator(StaticApiKeys({"env": "t"}), directory, cache_s=10, clock=clock)
    assert await auth.authenticate(key) == Tenant("stored-tenant", "k-1")
    assert await auth.authenticate(key) == Tenant("stored-tenant", "k-1")
    assert directory.lookups == 1
    # Unknown keys are cached too, so made-up keys do not each cost a query.
    assert await auth.authenticate("made-up") is None
    assert await auth.authenticate("made-up") is None
    assert directory.lookups == 2
    # Configured keys never reach the directory.
    assert await auth.authenticate("env") == Tenant("t", static_key_id("env"))
    assert directory.lookups == 2


async def test_a_revoked_key_stops_working_once_the_cache_expires() -> None:
    key = new_api_key()
    directory = _directory(key)
    clock = Clock()
    auth = ApiKeyAuthenticator(StaticApiKeys({}), directory, cache_s=10, clock=clock)
    assert await auth.authenticate(key) is not None
    directory.keys = _directory(key, revoked=True).keys
    clock.now = 5
    assert await auth.authenticate(key) is not None
    clock.now = 11
    assert await auth.authenticate(key) is None


async def test_junk_is_refused_without_a_lookup() -> None:
    directory = InMemoryApiKeyDirectory()
    auth = ApiKeyAuthenticator(StaticApiKeys({}), directory)
    for junk in ("", "x" * 600, "ключ"):
        assert await auth.authenticate(junk) is None
    assert directory.lookups == 0


async def test_an_unreachable_directory_is_an_error_not_a_refusal() -> None:
    directory = InMemoryApiKeyDirectory(available=False)
    auth = ApiKeyAuthenticator(StaticApiKeys({}), directory)
    with pytest.raises(ArchiveUnavailableError):
        await auth.authenticate(new_api_key())
