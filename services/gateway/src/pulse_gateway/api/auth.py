"""API keys to tenants, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

__all__ = ["ApiKeys"]


class ApiKeys:
    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = [(key.encode(), tenant) for key, tenant in keys.items()]

    def tenant_for(self, presented: str) -> str | None:
        """The tenant of `presented`, or None.

        Every configured key is compared, and with `compare_digest`, so neither which key
        matched nor how much of it matched shows in the response time.
        """
        candidate = presented.encode()
        found: str | None = None
        for key, tenant in self._keys:
            if hmac.compare_digest(key, candidate):
                found = tenant
        return found
