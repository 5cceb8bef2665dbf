"""A benchmark report as a table for the terminal, and as JSON and PNG files (pure but `save`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pulse_stack.bench.chart import save_chart
from pulse_stack.bench.results import BenchReport, FanoutResult, OverheadResult, RunShapeResult
from pulse_stack.bench.stats import Summary, ratio

__all__ = ["format_ms", "render_table", "result_filename", "save"]

Row = tuple[str, ...]


def format_ms(value: float) -> str:
    if value < 10:
        return f"{value:.2f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:,.0f} ms"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} x"


def _table(header: Row, rows: Sequence[Row]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Row) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return ("  " + "   ".join(cells)).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _latency(label: str, summary: Summary, *extra: str) -> Row:
    return (label, format_ms(summary.p50), format_ms(summary.p99), *extra)


def _heading(report: BenchReport) -> list[str]:
    m = report.machine
    load_start = m.load_average_at_start[0]
    load_end = report.load_average_at_end[0]
    return [
        f"Pulse benchmark — {report.params.scale} scale, "
        f"{report.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, {report.duration_s:.0f} s",
        f"machine: {m.logical_cores} cores ({m.cpu_model}), {m.memory_gib} GiB, {m.python}, "
        f"nats-server {m.nats_server}, commit {m.pulse_commit or 'unknown'}",
        f"load average (1 min): {load_start:.2f} at start, {load_end:.2f} at end"
        " — other work on the machine slows every figure; compare the ratios",
    ]


def _baseline(report: BenchReport) -> list[str]:
    b = report.baseline
    seq, pipe, kv = b.sequential, b.pipelined, b.kv
    rows: list[Row] = [
        _latency(
            f"round trip, one at a time ({seq.messages} msgs)",
            seq.roundtrip_ms,
            f"{seq.throughput_per_s:,.0f}/s",
        ),
        _latency(
            f"pipelined (window {pipe.window}, fetch {pipe.fetch_batch}, {pipe.messages} msgs)",
            pipe.roundtrip_ms,
            f"{pipe.throughput_per_s:,.0f}/s",
        ),
        _latency(
            f"KV get + compare-and-set ({kv.operations} ops)",
            kv.read_update_ms,
            f"{kv.throughput_per_s:,.0f}/s",
        ),
    ]
    return [
        "",
        "Baseline — raw JetStream on the same nats-server (publish → pull consumer → ack, "
        f"file storage, {b.payload_bytes} B)",
        *_table(("", "p50", "p99", "rate"), rows),
        f"  round-trip p50 before the workloads {format_ms(b.sequential_before_p50_ms)}, "
        f"after {format_ms(b.sequential_after_p50_ms)}",
    ]


def _shape_row(label: str, shape: RunShapeResult) -> Row:
    return _latency(
        label,
        shape.span_ms,
        f"{shape.completed}/{shape.runs}",
        format_ms(shape.critical_path_ms),
        _times(ratio(shape.span_ms.p50, shape.critical_path_ms)),
        format_ms(shape.tool_ms.p50),
        format_ms(shape.finish_ms.p50),
    )


def _fanout(f: FanoutResult, report: BenchReport) -> list[str]:
    rows = [
        _shape_row(f"{f.width} independent steps", f.parallel),
        _shape_row(f"the same {f.width} chained", f.chain),
    ]
    return [
        "",
        f"Fan-out — {f.width} x llm.complete answering in {f.step_latency_ms} ms "
        "(span: first dispatch → run's final event)",
        *_table(
            (
                "",
                "p50",
                "p99",
                "runs",
                "critical path",
                "p50 / path",
                "tool p50",
                "last tool → end",
            ),
            rows,
        ),
        f"  speed-up (chained / independent, p50): {_times(report.ratios.fanout_speedup)}"
        f" — ideal {f.width} x; the {f.width} tools started within"
        f" {format_ms(f.parallel_start_spread_ms.p50)} of each other (p50)",
    ]


def _overhead(o: OverheadResult, report: BenchReport) -> list[str]:
    rt = report.baseline.sequential.roundtrip_ms
    rows: list[Row] = [
        _latency(
            "handoff: dispatch → next dispatch - tool",
            o.handoff_ms,
            _times(report.ratios.handoff_p50_vs_roundtrip),
            _times(report.ratios.handoff_p99_vs_roundtrip),
        ),
        _latency("  dispatch hop: dispatched → tool started", o.dispatch_hop_ms, "", ""),
        _latency("  result hop: tool done → next dispatched", o.result_hop_ms, "", ""),
        _latency("tool run time (calculator)", o.tool_ms, "", ""),
        _latency("last tool done → run's final event", o.finish_ms, "", ""),
        _latency(
            "run span / steps",
            o.span_per_step_ms,
            _times(report.ratios.span_per_step_p50_vs_roundtrip),
            "",
        ),
        _latency("end to end per run (POST → final event)", o.end_to_end_ms, "", ""),
    ]
    return [
        "",
        f"Per-step overhead — {o.completed}/{o.runs} chains of {o.chain_length} calculator steps, "
        f"{o.concurrency} in flight, {o.handoff_ms.count} handoffs",
        *_table(("", "p50", "p99", "p50 / round trip", "p99 / round trip"), rows),
        f"  raw round trip: p50 {format_ms(rt.p50)}, p99 {format_ms(rt.p99)};"
        f" {o.runs_per_s:.1f} runs/s",
    ]


def render_table(report: BenchReport) -> str:
    lines = _heading(report) + _baseline(report)
    if report.fanout is not None:
        lines += _fanout(report.fanout, report)
    if report.overhead is not None:
        lines += _overhead(report.overhead, report)
    if report.comparison is not None:
        # Imported here: the comparison's table borrows `format_ms` from this module.
        from pulse_stack.bench.comparison_report import render_comparison

        lines += render_comparison(report.comparison)
    if report.notes:
        lines += ["", "Notes:", *(f"  - {note}" for note in report.notes)]
    return "\n".join(lines)


def result_filename(started_at: datetime) -> str:
    """`2025-01-31T12-00-05Z.json`: sorts by time, and is a valid name everywhere."""
    return f"{started_at.astimezone(UTC):%Y-%m-%dT%H-%M-%SZ}.json"


def save(report: BenchReport, directory: Path) -> Path:
    """Write the JSON, and the comparison's chart beside it (same name, `.png`)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / result_filename(report.started_at)
    path.write_text(report.model_dump_json(indent=2) + "\n")
    save_chart(report, path.with_suffix(".png"))
    return path
