"""ListTasks' scan of the run-state bucket on a real nats-server, while runs move on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from pulse_contracts import RunState, RunStatus, subjects
from pulse_gateway.a2a import KvRunCatalog

pytestmark = pytest.mark.nats

RUNS = 40


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NatsClient]:
    client = await nats.connect(nats_url)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def bucket(nc: NatsClient) -> KeyValue:
    return await nc.jetstream().create_key_value(
        KeyValueConfig(bucket=subjects.KV_RUN_STATE, history=1)
    )


async def _put(bucket: KeyValue, run_id: str, tenant: str, seq: int) -> None:
    state = RunState(run_id=run_id, tenant=tenant, prompt="p", status=RunStatus.WORKING, seq=seq)
    await bucket.put(run_id, state.model_dump_json().encode())


async def test_every_run_is_listed_while_runs_are_being_updated(
    nc: NatsClient, bucket: KeyValue
) -> None:
    for n in range(RUNS):
        await _put(bucket, f"a-{n}", "tenant-a", 0)
        await _put(bucket, f"b-{n}", "tenant-b", 0)
    catalog = KvRunCatalog(lambda: nc)
    stop = asyncio.Event()

    async def move_runs_along() -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            for n in range(RUNS):
                await _put(bucket, f"b-{n}", "tenant-b", seq)

    writer = asyncio.create_task(move_runs_along())
    try:
        for _ in range(15):
            listed = await catalog.runs_of("tenant-b")
            assert sorted(s.run_id for s in listed) == sorted(f"b-{n}" for n in range(RUNS))
    finally:
        stop.set()
        await writer
    assert {s.run_id for s in await catalog.runs_of("tenant-a")} == {f"a-{n}" for n in range(RUNS)}


async def test_deleted_and_purged_runs_are_not_listed(nc: NatsClient, bucket: KeyValue) -> None:
    for n in range(3):
        await _put(bucket, f"r-{n}", "tenant-a", 0)
    await bucket.delete("r-1")
    await bucket.purge("r-2")  # the newest message of the bucket is now a purge marker
    catalog = KvRunCatalog(lambda: nc)
    assert [s.run_id for s in await catalog.runs_of("tenant-a")] == ["r-0"]
    await bucket.purge("r-0")
    assert await catalog.runs_of("tenant-a") == []
