"""Authentication: an API key in, the caller's `Tenant` out.

Two sources, tried in order: the keys in PULSE_API_KEYS (development, or a few fixed
service keys), compared in constant time; then the keys made with `pulse keys create`,
found in the archive's `api_keys` table by their SHA-256. Lookups of stored keys are reused
for `cache_s` (a revoked key stops working within that time), misses included, so a flood
of made-up keys does not become a flood of queries.

HTTP routes, WebSockets and the A2A endpoints all authenticate through one `Authenticator`.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final, Protocol

from pulse_gateway.adapters.ports import ApiKeyDirectory
from pulse_gateway.domain import Tenant, api_key_hash, static_key_id

__all__ = ["ApiKeyAuthenticator", "Authenticator", "StaticApiKeys"]

_MAX_PRESENTED: Final = 512
_CACHE_ENTRIES: Final = 10_000


class Authenticator(Protocol):
    async def authenticate(self, presented: str) -> Tenant | None:
        """The tenant of this API key, or None for an unknown or revoked key.

        Raises `ArchiveUnavailableError` when stored keys cannot be checked right now.
        """
        ...


class StaticApiKeys:
    """Keys from configuration: every key compared, each in constant time, so neither which
    key matched nor how much of it did shows in the response time."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = [
            (key.encode(), Tenant(tenant, static_key_id(key))) for key, tenant in keys.items()
        ]

    def tenant_for(self, presented: str) -> Tenant | None:
        candidate = presented.encode()
        found: Tenant | None = None
        for key, tenant in self._keys:
            if hmac.compare_digest(key, candidate):
                found = tenant
        return found


class ApiKeyAuthenticator:
    def __init__(
        self,
        static: StaticApiKeys,
        directory: ApiKeyDirectory | None = None,
        *,
        cache_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._static = static
        self._directory = directory
        self._cache_s = cache_s
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, Tenant | None]] = OrderedDict()

    async def authenticate(self, presented: str) -> Tenant | None:
        if not presented or len(presented) > _MAX_PRESENTED or not presented.isascii():
            return None
        tenant = self._static.tenant_for(presented)
        if tenant is not None or self._directory is None:
            return tenant
        digest = api_key_hash(presented)
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1]
        stored = await self._directory.find(digest)
        found = None
        if stored is not None and stored.revoked_at is None:
            found = Tenant(stored.tenant, stored.key_id)
        self._remember(digest, now, found)
        return found

    def _remember(self, digest: str, now: float, tenant: Tenant | None) -> None:
        if self._cache_s <= 0:
            return
        self._cache[digest] = (now, tenant)
        self._cache.move_to_end(digest)
        while len(self._cache) > _CACHE_ENTRIES:
            self._cache.popitem(last=False)
