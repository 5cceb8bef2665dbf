"""The test backends are real servers: prove it by using them."""

from __future__ import annotations

import asyncpg
import nats
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.mark.nats
async def test_nats_url_is_a_real_jetstream_server(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="PULSE_FIXTURE_PROBE", subjects=["probe.>"])
        ack = await js.publish("probe.one", b"x", headers={"Nats-Msg-Id": "m1"})
        dup = await js.publish("probe.one", b"x", headers={"Nats-Msg-Id": "m1"})
        assert ack.seq == 1
        assert dup.duplicate is True
    finally:
        await nc.close()


@pytest.mark.nats
async def test_nats_url_starts_without_pulse_streams(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        names = [s.config.name for s in await nc.jetstream().streams_info()]
        assert not [n for n in names if n and n.startswith("PULSE_")]
    finally:
        await nc.close()


@pytest.mark.postgres
async def test_database_url_is_a_fresh_real_database(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            tables = (
                await conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname='public'"))
            ).scalar()
            version = (await conn.execute(text("SHOW server_version"))).scalar()
        assert tables == 0
        assert str(version).startswith("16")
    finally:
        await engine.dispose()
    conn2 = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    await conn2.close()
