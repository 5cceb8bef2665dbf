"""The raw-bus baseline on a real nats-server: every sample belongs to its own message."""

from __future__ import annotations

import nats
import pytest

from pulse_stack.bench.jetstream import BENCH_KV, BENCH_STREAM, JetStreamBench


@pytest.mark.nats
async def test_each_measurement_counts_its_own_messages_and_cleans_up(nats_url: str) -> None:
    bench = JetStreamBench(nats_url, payload_bytes=64)
    assert (await bench.open()).count(".") == 2  # e.g. 2.15.1
    try:
        first = await bench.sequential(30)
        pipelined = await bench.pipelined(300, window=16, fetch_batch=8)
        kv = await bench.kv_read_update(20)
        # after a pipelined burst whose last acks may still be in flight
        again = await bench.sequential(30)
    finally:
        await bench.close()
    for result, count in ((first, 30), (pipelined, 300), (kv, 20), (again, 30)):
        assert len(result.roundtrip_s) == count
        assert all(sample > 0 for sample in result.roundtrip_s)
        assert result.throughput_per_s > 0
    assert len(first.publish_ack_s) == 30
    nc = await nats.connect(nats_url)
    try:
        names = [s.config.name for s in await nc.jetstream().streams_info()]
    finally:
        await nc.close()
    assert BENCH_STREAM not in names
    assert f"KV_{BENCH_KV}" not in names
