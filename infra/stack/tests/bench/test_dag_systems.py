"""The peers run the DAG for real: raw JetStream on a nats-server, Temporal's dev server.

Only that runs complete with every tool window is checked — never how fast.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nats
import psutil
import pytest

from pulse_stack.bench.comparison import WorkloadSpec, measure_workload
from pulse_stack.bench.dag import DIAMOND
from pulse_stack.bench.jetstream_dag import DAG_STREAM, JetStreamDag


@pytest.mark.nats
async def test_the_raw_jetstream_runner_runs_the_dag_and_cleans_up(nats_url: str) -> None:
    bus = JetStreamDag(nats_url, llm_latency_ms=20)
    await bus.open()
    try:
        llm = await bus.run("llm", "t1", timeout_s=30)
        w1 = await measure_workload(
            bus,
            WorkloadSpec(
                "W1", "calculator", runs=6, concurrency=3, timeout_s=30, tool_latency_ms=0
            ),
        )
    finally:
        await bus.close()
    assert llm.ok
    assert [w.step_id for w in llm.windows] == [s.step_id for s in DIAMOND]
    assert all(w.finished - w.started >= 0.015 for w in llm.windows)
    assert (w1.completed, w1.errors) == (6, 0)
    assert w1.step_overhead_ms is not None
    assert w1.step_overhead_ms.count == 6 * 4
    nc = await nats.connect(nats_url)
    try:
        names = [s.config.name for s in await nc.jetstream().streams_info()]
    finally:
        await nc.close()
    assert DAG_STREAM not in names


def _temporal_installed() -> bool:
    if importlib.util.find_spec("temporalio") is None:
        return False
    from pulse_stack.bench.temporal_dag import temporal_binary

    try:
        temporal_binary()
    except FileNotFoundError:
        return False
    return True


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.skipif(not _temporal_installed(), reason="the bench extra (temporal) is not installed")
async def test_temporal_runs_the_same_dag_as_a_workflow_and_stops(tmp_path: Path) -> None:
    from pulse_stack.bench.temporal_dag import TemporalDag

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with TemporalDag(tmp_path, llm_latency_ms=20) as temporal:
        assert set(temporal.processes()) == {"temporal-server", "temporal-worker"}
        await temporal.connect()
        llm = await temporal.run("llm", "t1", timeout_s=60)
        w1 = await measure_workload(
            temporal,
            WorkloadSpec(
                "W1", "calculator", runs=4, concurrency=2, timeout_s=60, tool_latency_ms=0
            ),
        )
    assert llm.ok, llm.error
    assert [w.step_id for w in llm.windows] == [s.step_id for s in DIAMOND]
    assert all(w.finished - w.started >= 0.015 for w in llm.windows)
    assert (w1.completed, w1.errors) == (4, 0)
    assert set(w1.peak_rss_mib) == {"temporal-server", "temporal-worker"}
    leftover = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not leftover, f"processes left running: {leftover}"
