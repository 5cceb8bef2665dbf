"""The intake benchmark's report: its table and its JSON (the measuring needs a stack;
`pulse-stack bench --intake --quick` runs it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pulse_stack.bench.intake import (
    IntakeParams,
    IntakeReport,
    Latency,
    SustainedResult,
    render_intake,
    save_intake,
)
from pulse_stack.bench.machine import MachineFacts
from pulse_stack.bench.stats import summarize

STARTED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _latency(*ms: float) -> Latency:
    return Latency(summary=summarize(ms), p95=max(ms))


def _report() -> IntakeReport:
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
    return IntakeReport(
        started_at=STARTED,
        duration_s=30.0,
        machine=machine,
        params=IntakeParams.quick(),
        load_average_at_end=(1.0, 0.5, 0.3),
        healthz_ms=_latency(1.0, 1.0, 2.0),
        publish_ack_ms=_latency(0.5, 0.5, 1.0),
        post_ms=_latency(4.0, 5.0, 6.0),
        sustained=SustainedResult(
            concurrency=16,
            duration_s=6.0,
            accepted=600,
            refused_overloaded=3,
            other_errors=0,
            accepted_per_s=100.0,
            latency_ms=_latency(10.0, 20.0),
        ),
        ratios={
            "post_p50_over_healthz_p50": 5.0,
            "post_p50_over_publish_ack_p50": 10.0,
            "loaded_p50_over_idle_p50": None,
        },
        notes=["3 POSTs got 503"],
    )


def test_the_table_shows_latencies_rate_and_ratios() -> None:
    text = render_intake(_report())
    assert "quick scale" in text
    assert "POST /v1/runs, one at a time" in text
    assert "5.00" in text
    assert "100 runs accepted/s" in text
    assert "3 refused with 503" in text
    assert "POST p50 / healthz p50: 5.00 x" in text
    assert "loaded / idle p50: n/a" in text
    assert "note: 3 POSTs got 503" in text


def test_the_json_round_trips(tmp_path: Path) -> None:
    path = save_intake(_report(), tmp_path / "out")
    assert path.name == "intake-20250601T120000Z.json"
    assert IntakeReport.model_validate(json.loads(path.read_text())) == _report()
