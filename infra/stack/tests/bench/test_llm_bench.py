"""The LLM gateway benchmark's figures and table, from made-up numbers (no stack)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pulse_stack.bench.llm import (
    GoalFigures,
    LlmBenchParams,
    LlmBenchReport,
    OverheadFigures,
    render_llm,
    save_llm,
)
from pulse_stack.bench.machine import MachineFacts
from pulse_stack.bench.stats import summarize

STARTED = datetime(2026, 11, 21, 7, 0, 0, tzinfo=UTC)


def report() -> LlmBenchReport:
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
    return LlmBenchReport(
        started_at=STARTED,
        duration_s=30.0,
        machine=machine,
        params=LlmBenchParams(),
        load_average_at_end=(1.0, 0.9, 0.8),
        overhead=OverheadFigures(
            calls=3,
            direct_ms=summarize([1.0, 1.0, 2.0]),
            adapter_ms=summarize([3.0, 3.0, 5.0]),
            added_ms=summarize([2.0, 2.0, 3.0]),
            ratio_p50=3.0,
            ratio_p99=2.5,
            errors=0,
        ),
        goals=GoalFigures(
            goals=100,
            completed=100,
            concurrency=32,
            latency_ms=2300,
            elapsed_s=9.6,
            floor_s=9.2,
            ratio_to_floor=9.6 / 9.2,
            end_to_end_ms=summarize([2400.0, 2500.0]),
        ),
    )


def test_the_goals_floor_is_whole_waves_of_the_latency() -> None:
    assert LlmBenchParams().goals_floor_s == 4 * 2.3  # ceil(100 / 32) waves
    assert LlmBenchParams(goals=64, concurrency=32, goal_latency_ms=1000).goals_floor_s == 2.0


def test_the_table_names_both_figures(tmp_path: Path) -> None:
    table = render_llm(report())
    assert "ratio adapter / direct       p50     3.00 x   p99     2.50 x" in table
    assert "completed 100/100 in 9.60 s" in table
    assert "ceil(100/32) x 2.3 s = 9.20 s; ratio 1.04 x" in table
    path = save_llm(report(), tmp_path)
    assert path.name == "llm-2026-11-21T07-00-00Z.json"
    assert json.loads(path.read_text())["goals"]["completed"] == 100
