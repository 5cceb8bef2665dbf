"""The whole stack as real processes: five services on the session's NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from pulse_stack.launcher import Stack
from pulse_stack.otlp_receiver import OtlpReceiver
from pulse_stack.testing import NatsEndpoint, PostgresEndpoint, wipe_pulse_streams

API_KEYS = "e2e-key-a=tenant-a,e2e-key-b=tenant-b"


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


async def _create_database(admin_dsn: str) -> str:
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


@pytest.fixture(scope="module")
def stack(
    nats_server: NatsEndpoint,
    postgres_server: PostgresEndpoint,
    otlp: OtlpReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    asyncio.run(wipe_pulse_streams(nats_server.url))
    database = asyncio.run(_create_database(postgres_server.admin_dsn))
    stack = Stack(
        state_dir=Path(tmp_path_factory.mktemp("stack")),
        nats_url=nats_server.url,
        database_url=postgres_server.url(database),
        api_keys=API_KEYS,
        gateway_port=0,
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "PULSE_TRACE_EXPORT_DELAY_MS": "100",
        },
    )
    with stack:
        yield stack
