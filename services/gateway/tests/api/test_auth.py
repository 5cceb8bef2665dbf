from __future__ import annotations

from pulse_gateway.api.auth import ApiKeys


def test_known_keys_map_to_their_tenant() -> None:
    keys = ApiKeys({"k1": "t1", "k2": "t2"})
    assert keys.tenant_for("k1") == "t1"
    assert keys.tenant_for("k2") == "t2"


def test_unknown_and_partial_keys_are_refused() -> None:
    keys = ApiKeys({"k1": "t1"})
    for presented in ("", "k", "k1 ", "K1", "k12", "ключ"):
        assert keys.tenant_for(presented) is None, presented
