"""`pulse-stack bench` end to end at a tiny scale: it measures every section and stops.

Only that figures come out is checked — never how fast anything was.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from pulse_stack.bench import BenchParams, render_table, run_bench, save


@pytest.mark.e2e
@pytest.mark.slow
def test_a_tiny_benchmark_run_reports_every_section(tmp_path: Path) -> None:
    params = BenchParams(
        scale="test",
        roundtrip_messages=20,
        pipelined_messages=100,
        pipeline_window=16,
        pipeline_fetch_batch=8,
        kv_updates=10,
        fanout_width=3,
        step_latency_ms=50,
        fanout_repeats=1,
        chain_length=3,
        overhead_runs=3,
        warmup_runs=1,
        # the comparison on the stack; Temporal has its own test (test_dag_systems)
        systems=["jetstream", "pulse"],
        w1_serial_runs=2,
        w1_runs=3,
        w1_concurrency=2,
        w2_runs=2,
        w2_concurrency=2,
        w3_runs=4,
        dag_warmup_runs=1,
        profile_runs=0,
    )
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    lines: list[str] = []
    report = run_bench(params, lines.append)
    assert report.notes == []
    assert report.fanout is not None
    assert report.overhead is not None
    assert report.fanout.parallel.completed == report.fanout.chain.completed == 1
    assert report.overhead.completed == 3
    assert report.overhead.handoff_ms.count == 3 * 2
    assert report.ratios.fanout_speedup is not None
    assert report.ratios.handoff_p50_vs_roundtrip is not None
    assert report.comparison is not None
    assert [s.system for s in report.comparison.systems] == ["jetstream", "pulse"]
    for system in report.comparison.systems:
        assert [(w.workload, w.completed) for w in system.workloads] == [
            ("W1-serial", 2),
            ("W1", 3),
            ("W2", 2),
            ("W3", 4),
        ]
    assert "Per-step overhead" in render_table(report)
    assert "Comparison — the same 1 → 3 → 1 DAG" in render_table(report)
    assert save(report, tmp_path).exists()
    assert "stopping the stack" in lines[-1]
    leftover = {p.pid for p in psutil.Process().children(recursive=True)} - children_before
    assert not leftover, f"processes left running: {leftover}"
