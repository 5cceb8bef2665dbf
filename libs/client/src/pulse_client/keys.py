"""Tenants' API keys, for operators: made, listed and revoked in the archive's PostgreSQL.

The `api_keys` table belongs to the archiver's schema (`pulse-archiver migrate` creates
it); the gateway reads it. A key is shown once, when made: only its SHA-256 is stored (the
key is 256 random bits, so no slow hash is needed against guessing — see the gateway's
`domain/tenants.py`, which must agree with `api_key_hash` here; a test checks they do).

Operators reach PostgreSQL directly (PULSE_DATABASE_URL), like migrations: no endpoint on
the internet-facing gateway can mint credentials, and no admin secret has to exist.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Self

import asyncpg

from pulse_contracts import JsonValue

__all__ = [
    "ApiKeyNotFound",
    "ApiKeyStore",
    "CreatedKey",
    "StoredApiKey",
    "api_key_hash",
    "new_api_key",
    "plain_dsn",
]

API_KEY_PREFIX: Final = "pulse_"
_TENANT: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def plain_dsn(url: str) -> str:
    """A SQLAlchemy-style URL (`postgresql+asyncpg://`) as asyncpg takes it."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise ValueError("PULSE_DATABASE_URL must be a postgresql:// URL")
    return f"postgresql://{rest}"


class ApiKeyNotFound(LookupError):
    pass


@dataclass(frozen=True)
class StoredApiKey:
    key_id: str
    tenant: str
    name: str | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "key_id": self.key_id,
            "tenant": self.tenant,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class CreatedKey:
    stored: StoredApiKey
    key: str
    """The key itself: shown this once, stored nowhere."""


def _stored(row: asyncpg.Record) -> StoredApiKey:
    return StoredApiKey(
        key_id=row["key_id"],
        tenant=row["tenant"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


_COLUMNS: Final = "key_id, tenant, name, prefix, created_at, revoked_at"


class ApiKeyStore:
    """`async with ApiKeyStore(database_url) as keys: await keys.create("tenant-a")`."""

    def __init__(self, database_url: str) -> None:
        self._dsn = plain_dsn(database_url)
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> Self:
        self._conn = await asyncpg.connect(self._dsn, timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def _db(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("use `async with ApiKeyStore(url) as keys`")
        return self._conn

    async def create(self, tenant: str, *, name: str | None = None) -> CreatedKey:
        if not _TENANT.fullmatch(tenant):
            raise ValueError(f"tenant must match {_TENANT.pattern}")
        key = new_api_key()
        row = await self._db.fetchrow(
            f"INSERT INTO api_keys (key_id, tenant, name, key_hash, prefix) "
            f"VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
            "key_" + secrets.token_hex(8),
            tenant,
            name,
            api_key_hash(key),
            key[:12],
        )
        assert row is not None
        return CreatedKey(_stored(row), key)

    async def list(
        self, *, tenant: str | None = None, include_revoked: bool = False
    ) -> list[StoredApiKey]:
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM api_keys "
            "WHERE ($1::text IS NULL OR tenant = $1) AND ($2 OR revoked_at IS NULL) "
            "ORDER BY tenant, created_at",
            tenant,
            include_revoked,
        )
        return [_stored(row) for row in rows]

    async def revoke(self, key_id: str) -> StoredApiKey:
        """Revoke the key (idempotent: a revoked key keeps its first revocation time)."""
        row = await self._db.fetchrow(
            f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
            f"WHERE key_id = $1 RETURNING {_COLUMNS}",
            key_id,
        )
        if row is None:
            raise ApiKeyNotFound(f"no API key {key_id!r}")
        return _stored(row)
