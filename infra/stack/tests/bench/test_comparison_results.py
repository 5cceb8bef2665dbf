"""The comparison's figures, ratios, table and chart, from made-up runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulse_stack.bench.comparison_report import render_comparison
from pulse_stack.bench.dag import DagRun, SystemName, ToolWindow
from pulse_stack.bench.dag_results import (
    ComparisonResult,
    SystemResult,
    WorkloadResult,
    compute_comparison_ratios,
    summarize_workload,
)
from pulse_stack.bench.profiling import FrameShare, ServiceProfile
from pulse_stack.bench.report import render_table, save
from pulse_stack.bench.results import BenchReport

from .test_report import report


def run(start: float, gap: float, tool: float, *, end_to_end: float) -> DagRun:
    t = 1000.0 + start
    middle = t + tool + gap
    last = middle + tool + gap
    windows = (
        ToolWindow("s1", (), t, t + tool),
        ToolWindow("s2", ("s1",), middle, middle + tool),
        ToolWindow("s3", ("s1",), middle, middle + tool),
        ToolWindow("s4", ("s1",), middle, middle + tool),
        ToolWindow("s5", ("s2", "s3", "s4"), last, last + tool),
    )
    return DagRun(True, start, start + end_to_end, windows)


def workloads(gap: float, rate: float, memory: dict[str, float]) -> list[WorkloadResult]:
    cpu = {name: mib / 1000 for name, mib in memory.items()}  # made up: 0.1 s per 100 MiB
    w1_runs = [run(i, gap, 0.0, end_to_end=4 * gap) for i in range(10)]
    w2_runs = [run(i, gap, 0.2, end_to_end=0.6 + 4 * gap) for i in range(4)]
    w3_runs = [*w1_runs, DagRun(False, 0.0, 30.0, error="TimeoutError: run did not end")]
    return [
        summarize_workload(
            "W1",
            "calculator",
            w1_runs,
            concurrency=10,
            elapsed_s=len(w1_runs) / rate,
            critical_path_ms=0,
            peak_rss_mib=memory,
            cpu_s=cpu,
            client_cpu_s=0.05,
        ),
        summarize_workload(
            "W2",
            "llm",
            w2_runs,
            concurrency=10,
            elapsed_s=1.0,
            critical_path_ms=600,
            peak_rss_mib=memory,
        ),
        summarize_workload(
            "W3",
            "calculator",
            w3_runs,
            concurrency=11,
            elapsed_s=11 / rate,
            critical_path_ms=0,
            peak_rss_mib=memory,
        ),
    ]


def system(name: SystemName, gap: float, rate: float, memory: dict[str, float]) -> SystemResult:
    return SystemResult(system=name, version="v", setup="s", workloads=workloads(gap, rate, memory))


def comparison() -> ComparisonResult:
    systems = [
        system("jetstream", 0.001, 500, {"nats-server": 40}),
        system("pulse", 0.005, 50, {"executor": 100, "agent-adapter": 90}),
        system("temporal", 0.040, 10, {"temporal-server": 150, "temporal-worker": 60}),
    ]
    profile = ServiceProfile(
        service="executor",
        samples=900,
        duration_s=10,
        rate_hz=100,
        core_share=0.9,
        by_area={"validation (pydantic)": 0.3, "tracing (opentelemetry)": 0.2},
        top_self=[FrameShare(frame="validate_json (pydantic/type_adapter.py)", share=0.2)],
        top_inclusive=[],
    )
    return ComparisonResult(
        systems=systems,
        ratios=compute_comparison_ratios(systems),
        profile=[profile],
        profile_runs_per_s=40,
    )


def test_a_workload_summarizes_completed_runs_and_counts_the_others() -> None:
    w3 = workloads(0.005, 50, {"a": 10, "b": 5.5})[2]
    assert (w3.runs, w3.completed, w3.errors) == (11, 10, 1)
    assert w3.error_examples == ["TimeoutError: run did not end"]
    assert w3.runs_per_s == pytest.approx(10 / (11 / 50))
    assert w3.step_overhead_ms is not None
    assert w3.step_overhead_ms.count == 40  # four waiting steps per run
    assert w3.step_overhead_ms.p50 == pytest.approx(5)
    assert w3.peak_rss_total_mib == 15.5


def test_ratios_are_pulse_over_each_other_system() -> None:
    ratios = comparison().ratios
    by = {r.against: r for r in ratios.pulse_vs}
    assert set(by) == {"jetstream", "temporal"}
    assert by["temporal"].w1_runs_per_s == pytest.approx(5.0)
    assert by["temporal"].w1_step_overhead_p50 == pytest.approx(0.125)
    assert by["jetstream"].w1_runs_per_s == pytest.approx(0.1)
    assert by["jetstream"].w1_step_overhead_p50 == pytest.approx(5.0)
    assert by["temporal"].w3_peak_rss_total == pytest.approx(190 / 210)
    assert by["temporal"].w1_cpu_per_run == pytest.approx(190 / 210)
    assert ratios.w2_end_to_end_p50_vs_critical_path["pulse"] == pytest.approx(0.62 / 0.6)
    assert ratios.w2_span_p50_vs_critical_path["temporal"] == pytest.approx(0.68 / 0.6)


def test_ratios_without_pulse_are_only_the_critical_path_ones() -> None:
    ratios = compute_comparison_ratios([system("temporal", 0.04, 10, {})])
    assert ratios.pulse_vs == []
    assert set(ratios.w2_end_to_end_p50_vs_critical_path) == {"temporal"}


def test_the_comparison_table_has_a_column_per_system_and_the_ratios() -> None:
    lines = render_comparison(comparison())
    text = "\n".join(lines)
    header = next(line for line in lines if "Pulse/Temporal" in line)
    assert header.index("raw JetStream") < header.index("Pulse ") < header.index("Temporal")
    w1 = next(line for line in lines if line.strip().startswith("W1 runs/s (10 in flight)"))
    assert "500.0/s" in w1
    assert "50.0/s" in w1
    assert "5.00 x" in w1  # Pulse / Temporal
    assert "0.10 x" in w1  # Pulse / raw JetStream
    assert "W2 end to end p50 (critical path 600 ms)" in text
    assert (
        "W1 CPU ms per run of Pulse: executor 10.0, agent-adapter 9.0; the benchmark client 5.0"
        in text
    )
    assert "TimeoutError: run did not end" in text
    assert "executor       held the GIL 90% of the time; validation (pydantic) 30%" in text
    assert "40.0 runs/s while sampled" in text


def test_the_report_carries_the_comparison_in_its_json_table_and_chart(tmp_path: Path) -> None:
    full: BenchReport = report().model_copy(update={"comparison": comparison()})
    assert "Comparison — the same 1 → 3 → 1 DAG" in render_table(full)
    path = save(full, tmp_path)
    saved = json.loads(path.read_text())
    assert [s["system"] for s in saved["comparison"]["systems"]] == [
        "jetstream",
        "pulse",
        "temporal",
    ]
    assert BenchReport.model_validate(saved) == full
    pytest.importorskip("matplotlib")
    png = path.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_report_without_comparison_saves_no_chart(tmp_path: Path) -> None:
    path = save(report(), tmp_path)
    assert not path.with_suffix(".png").exists()
