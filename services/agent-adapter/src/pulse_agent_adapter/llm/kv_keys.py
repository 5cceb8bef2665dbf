"""Turning free-form names (tenants, agents, run ids) into valid JetStream KV key tokens."""

from __future__ import annotations

import hashlib
import re
from typing import Final

__all__ = ["kv_token"]

_SAFE: Final = re.compile(r"^[A-Za-z0-9_=-]{1,64}$")


def kv_token(name: str) -> str:
    """`name` itself when it is a safe token, else a stable hash of it (`h-<16 hex>`)."""
    if _SAFE.match(name):
        return name
    return "h-" + hashlib.sha256(name.encode()).hexdigest()[:16]
