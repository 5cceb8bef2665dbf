"""The whole stack as real processes: five services on the session's NATS and PostgreSQL.

Every service exports its spans to the module's OTLP receiver, over HTTP unless the module
overrides `otlp_protocol`; a module adds environment for the services with `stack_env`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from pulse_stack.launcher import Stack
from pulse_stack.otlp_receiver import OtlpProtocol, OtlpReceiver
from pulse_stack.testing import NatsEndpoint, PostgresEndpoint, wipe_pulse_streams

API_KEYS = "e2e-key-a=tenant-a,e2e-key-b=tenant-b"


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def otlp_protocol() -> OtlpProtocol:
    return "http/protobuf"


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    """Extra environment for every service of the module's stack."""
    return {}


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
    otlp_protocol: OtlpProtocol,
    stack_env: dict[str, str],
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
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint_for(otlp_protocol),
            "OTEL_EXPORTER_OTLP_PROTOCOL": otlp_protocol,
            "PULSE_TRACE_EXPORT_DELAY_MS": "100",
            **stack_env,
        },
    )
    with stack:
        yield stack
