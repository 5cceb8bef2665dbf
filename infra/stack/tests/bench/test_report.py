"""The saved JSON and the printed table of a benchmark run, from made-up figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pulse_stack.bench.machine import MachineFacts
from pulse_stack.bench.params import BenchParams
from pulse_stack.bench.report import format_ms, render_table, result_filename, save
from pulse_stack.bench.results import (
    BaselineResult,
    BenchReport,
    FanoutResult,
    KvResult,
    OverheadResult,
    RoundTripResult,
    RunShapeResult,
    compute_ratios,
)
from pulse_stack.bench.stats import Summary, summarize

STARTED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def flat(value: float) -> Summary:
    return summarize([value])


def baseline() -> BaselineResult:
    seq = RoundTripResult(
        mode="sequential",
        messages=100,
        roundtrip_ms=summarize([0.5, 0.5, 2.0]),
        publish_ack_ms=flat(0.4),
        throughput_per_s=2000,
    )
    pipe = RoundTripResult(
        mode="pipelined", messages=1000, roundtrip_ms=flat(50), throughput_per_s=9000, window=256
    )
    return BaselineResult(
        payload_bytes=512,
        sequential=seq,
        sequential_before_p50_ms=0.5,
        sequential_after_p50_ms=0.5,
        pipelined=pipe,
        kv=KvResult(operations=100, read_update_ms=flat(0.4), throughput_per_s=2500),
    )


def shape(span_ms: float, critical_path_ms: float, goal: str) -> RunShapeResult:
    return RunShapeResult(
        goal_example=goal,
        runs=3,
        completed=3,
        critical_path_ms=critical_path_ms,
        span_ms=flat(span_ms),
        end_to_end_ms=flat(span_ms + 30),
        finish_ms=flat(span_ms / 10),
        tool_ms=flat(200),
        spans_ms=[span_ms] * 3,
    )


def fanout() -> FanoutResult:
    return FanoutResult(
        width=10,
        step_latency_ms=200,
        parallel=shape(250, 200, "ask the llm to a and ask the llm to b"),
        chain=shape(2100, 2000, "ask the llm to a, then ask the llm to b"),
        parallel_start_spread_ms=flat(3),
    )


def overhead() -> OverheadResult:
    return OverheadResult(
        chain_length=10,
        runs=20,
        completed=19,
        concurrency=1,
        handoff_ms=summarize([5.0, 5.0, 10.0]),
        dispatch_hop_ms=flat(2),
        result_hop_ms=flat(3),
        tool_ms=flat(0.1),
        finish_ms=flat(4),
        span_per_step_ms=flat(6),
        end_to_end_ms=flat(90),
        runs_per_s=8.5,
    )


def report(*, with_workloads: bool = True) -> BenchReport:
    base = baseline()
    fan = fanout() if with_workloads else None
    over = overhead() if with_workloads else None
    machine = MachineFacts(
        hostname="h",
        os="Linux 6",
        cpu_model="Test CPU",
        logical_cores=2,
        physical_cores=1,
        memory_gib=4.0,
        python="CPython 3.11.7",
        nats_server="2.15.1",
        pulse_commit="abc1234",
        load_average_at_start=(0.5, 0.4, 0.3),
        recorded_at=STARTED,
    )
    return BenchReport(
        started_at=STARTED,
        finished_at=STARTED,
        duration_s=61.0,
        machine=machine,
        params=BenchParams.quick(),
        service_env={"PULSE_OFFLINE_LATENCY_MS": "200"},
        load_average_at_end=(1.5, 0.9, 0.4),
        baseline=base,
        fanout=fan,
        overhead=over,
        ratios=compute_ratios(base, fan, over),
        notes=["overhead: run r1 ended failed; left out"] if with_workloads else [],
    )


def test_ratios_compare_figures_of_the_same_run() -> None:
    ratios = report().ratios
    assert ratios.fanout_speedup == pytest.approx(2100 / 250)
    assert ratios.fanout_vs_critical_path == pytest.approx(250 / 200)
    assert ratios.chain_vs_critical_path == pytest.approx(2100 / 2000)
    assert ratios.handoff_p50_vs_roundtrip == pytest.approx(5.0 / 0.5)
    assert ratios.handoff_p99_vs_roundtrip == pytest.approx(
        overhead().handoff_ms.p99 / baseline().sequential.roundtrip_ms.p99
    )
    assert ratios.span_per_step_p50_vs_roundtrip == pytest.approx(6 / 0.5)


def test_without_workloads_only_the_baseline_is_reported() -> None:
    bare = report(with_workloads=False)
    assert bare.ratios.fanout_speedup is None
    assert bare.ratios.handoff_p50_vs_roundtrip is None
    table = render_table(bare)
    assert "Baseline" in table
    assert "Fan-out" not in table
    assert "Per-step overhead" not in table


def test_the_table_shows_machine_load_and_every_headline_figure() -> None:
    table = render_table(report())
    for expected in (
        "quick scale",
        "2025-03-04 05:06:07 UTC",
        "2 cores (Test CPU)",
        "nats-server 2.15.1",
        "0.50 at start, 1.50 at end",
        "2,000/s",  # sequential round trips per second
        "9,000/s",
        "speed-up (chained / independent, p50): 8.40 x",
        "1.25 x",  # parallel span / critical path
        "   25.0 ms",  # parallel: last tool -> end
        "10.00 x",  # handoff p50 / round-trip p50
        "19/20 chains of 10 calculator steps",
        "8.5 runs/s",
        "- overhead: run r1 ended failed; left out",
    ):
        assert expected in table, expected


def test_table_rows_line_up() -> None:
    lines = render_table(report()).splitlines()
    header = next(line for line in lines if "last tool → end" in line)
    rows = [line for line in lines if line.startswith("  10 independent") or "chained" in line]
    assert rows
    # the ratio column ends where its header ends
    assert all(len(row) == len(header) for row in rows[:2])


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.256, "0.26 ms"), (12.34, "12.3 ms"), (2150.4, "2,150 ms")],
)
def test_milliseconds_keep_three_significant_figures(value: float, text: str) -> None:
    assert format_ms(value) == text


def test_results_are_saved_as_json_named_by_utc_time(tmp_path: Path) -> None:
    assert result_filename(STARTED) == "2025-03-04T05-06-07Z.json"
    path = save(report(), tmp_path / "results")
    assert path.name == "2025-03-04T05-06-07Z.json"
    saved = json.loads(path.read_text())
    assert saved["format"] == "pulse-bench/1"
    assert saved["machine"]["logical_cores"] == 2
    assert saved["params"]["scale"] == "quick"
    assert saved["fanout"]["parallel"]["spans_ms"] == [250, 250, 250]
    assert saved["ratios"]["fanout_speedup"] == pytest.approx(8.4)
    assert BenchReport.model_validate(saved) == report()
