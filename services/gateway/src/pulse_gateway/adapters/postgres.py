"""Run history, usage and stored API keys from the archiver's PostgreSQL (asyncpg).

The gateway only reads, and only the tables the archiver documents: `runs`, `steps`,
`events` and `api_keys` (see the archiver's README). It never imports the archiver; the SQL is here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Final

import asyncpg
from pydantic import ValidationError

from pulse_contracts import (
    RUN_EVENT_ADAPTER,
    ErrorInfo,
    Plan,
    RunEvent,
    RunState,
    RunStatus,
    StepState,
    StepStatus,
    Usage,
)
from pulse_gateway.adapters.ports import ArchiveUnavailableError, StoredKey, UsageTotals
from pulse_gateway.domain import RunQuery

__all__ = ["PostgresArchive", "asyncpg_dsn"]

log = logging.getLogger(__name__)

_RUN_COLUMNS: Final = (
    "run_id, tenant, prompt, status, planner, error, prompt_tokens, completion_tokens, "
    "cost_usd, trace_id, created_at, updated_at, last_seq"
)

_LIST_RUNS: Final = f"""
SELECT {_RUN_COLUMNS}
FROM runs
WHERE tenant = $1
  AND ($2::text[] IS NULL OR status = ANY($2::text[]))
  AND ($3::timestamptz IS NULL OR created_at >= $3)
  AND ($4::timestamptz IS NULL OR created_at < $4)
  AND ($5::text IS NULL OR prompt ILIKE $5 ESCAPE '\\')
  AND ($6::timestamptz IS NULL OR (created_at, run_id) < ($6, $7::text))
ORDER BY created_at DESC, run_id DESC
LIMIT $8
"""

_GET_RUN: Final = f"SELECT {_RUN_COLUMNS}, plan, result FROM runs WHERE run_id = $1 AND tenant = $2"

_GET_STEPS: Final = """
SELECT step_id, tool, status, attempt, input, output, error, prompt_tokens,
       completion_tokens, cost_usd, started_at, finished_at
FROM steps WHERE run_id = $1
"""

# Bounded: a timeline of more events than this is cut (a run has at most 256 steps).
_MAX_EVENTS: Final = 20_000
_GET_EVENTS: Final = f"""
SELECT payload FROM events WHERE run_id = $1 AND tenant = $2
ORDER BY seq, occurred_at LIMIT {_MAX_EVENTS}
"""

_USAGE: Final = """
SELECT status, count(*) AS runs, coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(cost_usd), 0) AS cost_usd
FROM runs
WHERE tenant = $1
  AND ($2::timestamptz IS NULL OR created_at >= $2)
  AND ($3::timestamptz IS NULL OR created_at < $3)
GROUP BY status
"""

_FIND_KEY: Final = """
SELECT key_id, tenant, name, prefix, created_at, revoked_at FROM api_keys WHERE key_hash = $1
"""

# Failures that mean "PostgreSQL is not there (or not ready) right now".
_UNAVAILABLE: Final = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def asyncpg_dsn(url: str) -> str:
    """PULSE_DATABASE_URL as asyncpg takes it: SQLAlchemy's `+asyncpg` driver suffix off."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("PULSE_DATABASE_URL must look like postgresql://user@host/db")
    base = scheme.split("+", 1)[0]
    if base not in ("postgresql", "postgres"):
        raise ValueError(f"the archive is PostgreSQL, got a {base!r} URL")
    return f"postgresql://{rest}"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _usage(row: asyncpg.Record) -> Usage:
    return Usage(
        prompt_tokens=int(row["prompt_tokens"]),
        completion_tokens=int(row["completion_tokens"]),
        cost_usd=float(row["cost_usd"] or Decimal(0)),
    )


def _error(value: object) -> ErrorInfo | None:
    if value is None:
        return None
    try:
        return ErrorInfo.model_validate(value)
    except ValidationError:
        log.warning("an archived error does not validate; shown as missing")
        return None


def _run(row: asyncpg.Record, *, plan: object = None, result: object = None) -> RunState:
    parsed_plan: Plan | None = None
    if plan is not None:
        try:
            parsed_plan = Plan.model_validate(plan)
        except ValidationError:
            log.warning("archived plan of run %s does not validate", row["run_id"])
    return RunState(
        run_id=row["run_id"],
        tenant=row["tenant"],
        prompt=row["prompt"] or "",
        status=RunStatus(row["status"]),
        plan=parsed_plan,
        planner=row["planner"],
        result=result,  # type: ignore[arg-type]
        error=_error(row["error"]),
        usage=_usage(row),
        trace_id=row["trace_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        seq=int(row["last_seq"]),
    )


def _step(row: asyncpg.Record) -> StepState:
    return StepState(
        step_id=row["step_id"],
        tool=row["tool"],
        status=StepStatus(row["status"]),
        attempt=int(row["attempt"]),
        input=row["input"] or {},
        output=row["output"],
        error=_error(row["error"]),
        usage=_usage(row),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


async def _json_codecs(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class PostgresArchive:
    """`RunArchive` and `ApiKeyDirectory` over one small asyncpg pool, opened on first use
    (so the gateway starts, and serves live runs, while PostgreSQL is still down)."""

    def __init__(self, url: str, *, pool_size: int = 4, timeout_s: float = 5.0) -> None:
        self._dsn = asyncpg_dsn(url)
        self._pool_size = pool_size
        self._timeout_s = timeout_s
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._warned_no_keys = False

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._pool_size,
                    timeout=self._timeout_s,
                    command_timeout=self._timeout_s,
                    init=_json_codecs,
                )
        return self._pool

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[asyncpg.Connection]:
        try:
            pool = await self._get_pool()
            async with pool.acquire(timeout=self._timeout_s) as conn:
                yield conn
        except asyncpg.UndefinedTableError as exc:
            raise ArchiveUnavailableError(
                f"the archive has no table for {what}: run `pulse-archiver migrate`"
            ) from exc
        except _UNAVAILABLE as exc:
            raise ArchiveUnavailableError(f"PostgreSQL unavailable during {what}: {exc!r}") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # --- RunArchive ---------------------------------------------------------------------
    async def list_runs(self, tenant: str, query: RunQuery) -> list[RunState]:
        statuses = sorted(s.value for s in query.statuses) or None
        after = query.after
        async with self._connection("listing runs") as conn:
            rows = await conn.fetch(
                _LIST_RUNS,
                tenant,
                statuses,
                query.since,
                query.until,
                _like(query.text) if query.text else None,
                after.created_at if after else None,
                after.run_id if after else None,
                query.limit + 1,
            )
        return [_run(row) for row in rows]

    async def get_run(self, tenant: str, run_id: str) -> RunState | None:
        async with self._connection("reading a run") as conn:
            row = await conn.fetchrow(_GET_RUN, run_id, tenant)
            if row is None:
                return None
            steps = await conn.fetch(_GET_STEPS, run_id)
        state = _run(row, plan=row["plan"], result=row["result"])
        state.steps = {s["step_id"]: _step(s) for s in steps}
        return state

    async def run_events(self, tenant: str, run_id: str) -> list[RunEvent]:
        async with self._connection("reading a run's events") as conn:
            rows = await conn.fetch(_GET_EVENTS, run_id, tenant)
        events: list[RunEvent] = []
        for row in rows:
            try:
                events.append(RUN_EVENT_ADAPTER.validate_python(row["payload"]))
            except ValidationError:
                # An event type newer than this gateway: the timeline goes on without it.
                log.warning("an archived event of run %s does not validate; skipped", run_id)
        return events

    async def usage(
        self, tenant: str, since: datetime | None, until: datetime | None
    ) -> UsageTotals:
        async with self._connection("usage") as conn:
            rows: Sequence[asyncpg.Record] = await conn.fetch(_USAGE, tenant, since, until)
        return UsageTotals(
            runs=sum(int(r["runs"]) for r in rows),
            prompt_tokens=sum(int(r["prompt_tokens"]) for r in rows),
            completion_tokens=sum(int(r["completion_tokens"]) for r in rows),
            cost_usd=round(sum(float(r["cost_usd"]) for r in rows), 10),
            by_status={str(r["status"]): int(r["runs"]) for r in rows},
        )

    async def reachable(self) -> bool:
        try:
            async with self._connection("readiness") as conn:
                await conn.fetchval("SELECT 1")
        except ArchiveUnavailableError:
            return False
        return True

    # --- ApiKeyDirectory ----------------------------------------------------------------
    async def find(self, key_hash: str) -> StoredKey | None:
        try:
            async with self._connection("API keys") as conn:
                row = await conn.fetchrow(_FIND_KEY, key_hash)
        except ArchiveUnavailableError as exc:
            if not isinstance(exc.__cause__, asyncpg.UndefinedTableError):
                raise
            # An archive migrated before keys existed: only PULSE_API_KEYS work until then.
            if not self._warned_no_keys:
                self._warned_no_keys = True
                log.warning("no api_keys table yet; run `pulse-archiver migrate`")
            return None
        if row is None:
            return None
        return StoredKey(
            key_id=row["key_id"],
            tenant=row["tenant"],
            name=row["name"],
            prefix=row["prefix"],
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
        )
