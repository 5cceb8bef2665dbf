"""The gateway's reads of the archive on a real PostgreSQL migrated by the archiver (run as
a process: services never import each other), and API keys made by `pulse keys`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from pulse_client.keys import ApiKeyStore
from pulse_client.keys import api_key_hash as client_hash
from pulse_contracts import Plan, RunStarted, RunStatus, StepDispatched
from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import (
    ArchiveUnavailableError,
    InMemoryRunPublisher,
    InMemoryRunStore,
    PostgresArchive,
)
from pulse_gateway.auth import ApiKeyAuthenticator, StaticApiKeys
from pulse_gateway.domain import Cursor, RunQuery, Tenant, api_key_hash, new_api_key
from pulse_gateway.wiring import in_memory_backends
from pulse_telemetry import setup_telemetry

pytestmark = pytest.mark.postgres

T0 = datetime(2025, 5, 1, tzinfo=UTC)
PLAN = {"steps": [{"id": "s1", "tool": "calculator", "input": {"expression": "1+1"}}]}


async def _migrate(database_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pulse_archiver",
        "migrate",
        env={**os.environ, "PULSE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, out.decode()


async def _insert_run(
    conn: asyncpg.Connection, run_id: str, tenant: str, minute: int, status: str, prompt: str
) -> None:
    at = T0 + timedelta(minutes=minute)
    await conn.execute(
        "INSERT INTO runs (run_id, tenant, prompt, status, planner, plan, result, error, "
        "prompt_tokens, completion_tokens, cost_usd, trace_id, created_at, updated_at, "
        "last_seq, state_seq) VALUES ($1, $2, $3, $4, 'rule-based', $5::jsonb, $6::jsonb, "
        "$7::jsonb, $8, 2, 0.25, 'abc', $9, $9, 4, 4)",
        run_id,
        tenant,
        prompt,
        status,
        json.dumps(PLAN),
        json.dumps(2),
        json.dumps({"code": "tool_failed", "message": "boom"}) if status == "failed" else None,
        minute,
        at,
    )
    await conn.execute(
        "INSERT INTO steps (run_id, step_id, tool, status, attempt, input, output, error, "
        "prompt_tokens, completion_tokens, cost_usd, started_at, finished_at, duration_ms, "
        "last_seq) VALUES ($1, 's1', 'calculator', 'completed', 1, $2::jsonb, $3::jsonb, "
        "NULL, 0, 0, 0, $4, $4, 0, 3)",
        run_id,
        json.dumps({"expression": "1+1"}),
        json.dumps(2),
        at,
    )


@pytest.fixture
async def archive(database_url: str) -> AsyncIterator[PostgresArchive]:
    await _migrate(database_url)
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        for n in range(6):
            status = "failed" if n == 4 else "completed"
            await _insert_run(conn, f"a-{n}", "tenant-a", n, status, f"calculate {n} % of 100_000")
        await _insert_run(conn, "b-0", "tenant-b", 3, "completed", "calculate for b")
    finally:
        await conn.close()
    archive = PostgresArchive(database_url, pool_size=2)
    yield archive
    await archive.close()


async def test_lists_pages_filters_and_scopes_to_the_tenant(archive: PostgresArchive) -> None:
    first = await archive.list_runs("tenant-a", RunQuery(limit=2))
    assert [s.run_id for s in first] == ["a-5", "a-4", "a-3"]  # one past the page: "more"
    after = Cursor.of(first[1])
    second = await archive.list_runs("tenant-a", RunQuery(limit=2, after=after))
    assert [s.run_id for s in second] == ["a-3", "a-2", "a-1"]
    failed = await archive.list_runs("tenant-a", RunQuery(statuses=frozenset({RunStatus.FAILED})))
    assert [(s.run_id, s.error.code.value if s.error else None) for s in failed] == [
        ("a-4", "tool_failed")
    ]
    window = await archive.list_runs(
        "tenant-a", RunQuery(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    )
    assert [s.run_id for s in window] == ["a-2", "a-1"]
    # LIKE wildcards in the search text are literal.
    assert [
        s.run_id for s in await archive.list_runs("tenant-a", RunQuery(text="3 % OF 100_"))
    ] == ["a-3"]
    assert await archive.list_runs("tenant-a", RunQuery(text="%")) != []
    assert await archive.list_runs("tenant-a", RunQuery(text="_000x")) == []
    assert [s.run_id for s in await archive.list_runs("tenant-b", RunQuery())] == ["b-0"]


async def test_gets_a_run_with_steps_only_for_its_tenant(archive: PostgresArchive) -> None:
    run = await archive.get_run("tenant-a", "a-1")
    assert run is not None
    assert (run.status, run.result, run.planner, run.seq) == (
        RunStatus.COMPLETED,
        2,
        "rule-based",
        4,
    )
    assert run.plan is not None
    assert run.plan.steps[0].tool == "calculator"
    assert run.steps["s1"].output == 2
    assert run.usage.prompt_tokens == 1
    assert run.usage.cost_usd == 0.25
    assert await archive.get_run("tenant-b", "a-1") is None
    assert await archive.get_run("tenant-a", "nope") is None


async def test_reads_a_runs_events_in_order_for_its_tenant_only(
    archive: PostgresArchive, database_url: str
) -> None:
    plan = Plan.model_validate(PLAN)
    common = {"run_id": "a-1", "tenant": "tenant-a", "trace_id": "ab" * 16}
    events = [
        RunStarted(message_id="a-1:1", seq=1, prompt="p", plan=plan, planner="x", **common),
        StepDispatched(
            message_id="a-1:2",
            seq=2,
            step_id="s1",
            attempt=1,
            tool="calculator",
            input={},
            **common,
        ),
    ]
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        rows = [(e.message_id, e.seq, e.type, e.model_dump(mode="json")) for e in events]
        # One event of a type this gateway does not know: skipped, not an error.
        rows.append(("a-1:3", 3, "run.paused", {**rows[0][3], "type": "run.paused", "seq": 3}))
        for event_id, seq, kind, payload in reversed(rows):
            await conn.execute(
                "INSERT INTO events (event_id, run_id, seq, type, tenant, trace_id, occurred_at, "
                "payload) VALUES ($1, 'a-1', $2, $3, 'tenant-a', NULL, $4, $5::jsonb)",
                event_id,
                seq,
                kind,
                T0,
                json.dumps(payload),
            )
    finally:
        await conn.close()
    assert await archive.run_events("tenant-a", "a-1") == events
    assert await archive.run_events("tenant-b", "a-1") == []
    assert await archive.run_events("tenant-a", "nope") == []


async def test_usage_sums_the_tenants_runs(archive: PostgresArchive) -> None:
    usage = await archive.usage("tenant-a", None, None)
    assert (usage.runs, usage.prompt_tokens, usage.completion_tokens) == (6, 15, 12)
    assert usage.cost_usd == 1.5
    assert usage.by_status == {"completed": 5, "failed": 1}
    assert (await archive.usage("tenant-a", T0 + timedelta(minutes=4), None)).runs == 2
    assert (await archive.usage("tenant-c", None, None)).runs == 0


async def test_keys_made_by_pulse_keys_authenticate_until_revoked(
    archive: PostgresArchive, database_url: str
) -> None:
    sample = new_api_key()
    assert client_hash(sample) == api_key_hash(sample)  # the CLI and the gateway agree
    async with ApiKeyStore(database_url) as keys:
        created = await keys.create("tenant-k", name="ci")
        auth = ApiKeyAuthenticator(StaticApiKeys({}), archive, cache_s=0)
        assert await auth.authenticate(created.key) == Tenant("tenant-k", created.stored.key_id)
        assert await auth.authenticate(created.key + "x") is None
        listed = await keys.list()
        assert [(k.key_id, k.tenant, k.name, k.active) for k in listed] == [
            (created.stored.key_id, "tenant-k", "ci", True)
        ]
        await keys.revoke(created.stored.key_id)
        assert await auth.authenticate(created.key) is None
        assert await keys.list() == []
        assert len(await keys.list(include_revoked=True)) == 1
    # The key itself is nowhere in the database.
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        row = await conn.fetchrow("SELECT * FROM api_keys")
    finally:
        await conn.close()
    assert row is not None
    assert created.key not in json.dumps({k: str(v) for k, v in row.items()})


async def test_the_api_serves_archived_history(archive: PostgresArchive, database_url: str) -> None:
    settings = Settings(api_keys={"k-a": "tenant-a", "k-b": "tenant-b"}, database_url=database_url)
    store = InMemoryRunStore()
    backends = in_memory_backends(settings, store, InMemoryRunPublisher())
    backends.archive = archive
    app = create_app(
        settings, telemetry=setup_telemetry(settings, install_global=False), backends=backends
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        listed = await client.get("/v1/runs?limit=3", headers={"Authorization": "Bearer k-a"})
        run = await client.get("/v1/runs/a-2", headers={"Authorization": "Bearer k-a"})
        other = await client.get("/v1/runs/a-2", headers={"Authorization": "Bearer k-b"})
    assert [r["run_id"] for r in listed.json()["runs"]] == ["a-5", "a-4", "a-3"]
    assert listed.json()["next_cursor"]
    assert run.json()["steps"][0]["output"] == 2
    assert other.status_code == 404


async def test_an_unreachable_archive_is_reported_not_raised_raw() -> None:
    archive = PostgresArchive("postgresql://postgres@127.0.0.1:9/pulse", timeout_s=1)
    try:
        assert await archive.reachable() is False
        with pytest.raises(ArchiveUnavailableError):
            await archive.list_runs("t", RunQuery())
        with pytest.raises(ArchiveUnavailableError):
            await archive.find("0" * 64)
    finally:
        await archive.close()


async def test_an_archive_without_the_keys_table_only_knows_configured_keys(
    database_url: str,
) -> None:
    archive = PostgresArchive(database_url)
    try:
        assert await archive.find(api_key_hash("anything")) is None
        with pytest.raises(ArchiveUnavailableError, match="migrate"):
            await archive.list_runs("t", RunQuery())
    finally:
        await archive.close()
