"""The comparison as terminal tables (pure): one column per system, then Pulse's ratios."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from pulse_stack.bench.dag_results import ComparisonResult, SystemResult, WorkloadResult
from pulse_stack.bench.profiling import ServiceProfile
from pulse_stack.bench.report import format_ms
from pulse_stack.bench.stats import ratio

__all__ = ["render_comparison"]

_LABELS: Final = {"pulse": "Pulse", "temporal": "Temporal", "jetstream": "raw JetStream"}

Pick = Callable[[WorkloadResult], float | None]
Show = Callable[[float], str]


def _rate(value: float) -> str:
    return f"{value:,.1f}/s"


def _seconds(value: float) -> str:
    return f"{value:,.1f} s"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _mib(value: float) -> str:
    return f"{value:,.0f} MiB"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} x"


def _row(
    label: str, systems: Sequence[SystemResult], workload: str, pick: Pick, show: Show
) -> list[str]:
    values: list[float | None] = []
    for system in systems:
        found = next((w for w in system.workloads if w.workload == workload), None)
        values.append(None if found is None else pick(found))
    cells = [label, *("n/a" if v is None else show(v) for v in values)]
    pulse = next((v for s, v in zip(systems, values, strict=True) if s.system == "pulse"), None)
    for system, value in zip(systems, values, strict=True):
        if system.system == "pulse":
            continue
        cells.append(_times(None if pulse is None or value is None else ratio(pulse, value)))
    return cells


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "   ".join(
            [
                row[0].ljust(widths[0]),
                *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
            ]
        ).rstrip()
        for row in rows
    ]


def _p(summary_field: str, which: str) -> Pick:
    def pick(w: WorkloadResult) -> float | None:
        summary = getattr(w, summary_field)
        return None if summary is None else float(getattr(summary, which))

    return pick


def _profile_lines(profiles: Sequence[ServiceProfile], rate: float | None) -> list[str]:
    if not profiles:
        return []
    lines = [
        "",
        "Where Pulse's services spend their time during W1 (py-spy, "
        + (f"{rate:.1f} runs/s while sampled" if rate is not None else "sampled")
        + "):",
    ]
    for p in sorted(profiles, key=lambda p: -p.core_share):
        areas = ", ".join(f"{a} {s:.0%}" for a, s in list(p.by_area.items())[:4])
        lines.append(f"  {p.service:<14} held the GIL {p.core_share:.0%} of the time; {areas}")
        for frame in p.top_self[:3]:
            lines.append(f"  {'':<14}   {frame.share:5.1%}  {frame.frame}")
    return lines


def render_comparison(comparison: ComparisonResult) -> list[str]:
    systems = comparison.systems
    if not systems:
        return []
    others = [s for s in systems if s.system != "pulse"]
    has_pulse = any(s.system == "pulse" for s in systems)
    header = [
        "",
        *(_LABELS[s.system] for s in systems),
        *((f"Pulse/{_LABELS[s.system]}" for s in others) if has_pulse else ()),
    ]
    w1 = next((w for s in systems for w in s.workloads if w.workload == "W1"), None)
    w2 = next((w for s in systems for w in s.workloads if w.workload == "W2"), None)
    w3 = next((w for s in systems for w in s.workloads if w.workload == "W3"), None)

    def row(label: str, workload: str, pick: Pick, show: Show) -> list[str]:
        cells = _row(label, systems, workload, pick, show)
        return cells if has_pulse else cells[: 1 + len(systems)]

    rows = [
        header,
        row(
            "W1 one at a time: step overhead p50",
            "W1-serial",
            _p("step_overhead_ms", "p50"),
            format_ms,
        ),
        row(
            "W1 one at a time: step overhead p99",
            "W1-serial",
            _p("step_overhead_ms", "p99"),
            format_ms,
        ),
        row("W1 one at a time: end to end p50", "W1-serial", _p("end_to_end_ms", "p50"), format_ms),
        row(
            f"W1 runs/s ({w1.concurrency if w1 else '?'} in flight)",
            "W1",
            lambda w: w.runs_per_s,
            _rate,
        ),
        row("W1 step overhead p50", "W1", _p("step_overhead_ms", "p50"), format_ms),
        row("W1 step overhead p99", "W1", _p("step_overhead_ms", "p99"), format_ms),
        row("W1 end to end p50", "W1", _p("end_to_end_ms", "p50"), format_ms),
        row("W1 end to end p99", "W1", _p("end_to_end_ms", "p99"), format_ms),
        row("W1 CPU per run, all processes", "W1", lambda w: w.cpu_ms_per_run_total, format_ms),
        row(
            f"W2 end to end p50 (critical path {format_ms(w2.critical_path_ms) if w2 else '?'})",
            "W2",
            _p("end_to_end_ms", "p50"),
            format_ms,
        ),
        row("W2 end to end p99", "W2", _p("end_to_end_ms", "p99"), format_ms),
        row(
            "W2 end to end p50 / critical path",
            "W2",
            lambda w: None if w.end_to_end_ms is None else w.end_to_end_ms.p50 / w.critical_path_ms,
            lambda v: f"{v:.2f} x",
        ),
        row("W2 tool span p50", "W2", _p("span_ms", "p50"), format_ms),
        row(f"W3 drain ({w3.runs if w3 else '?'} at once)", "W3", lambda w: w.elapsed_s, _seconds),
        row("W3 errors", "W3", lambda w: float(w.errors), _count),
        row("W3 end to end p99", "W3", _p("end_to_end_ms", "p99"), format_ms),
        row("W3 peak RSS, all processes", "W3", lambda w: w.peak_rss_total_mib, _mib),
    ]
    lines = [
        "",
        "Comparison — the same 1 → 3 → 1 DAG on each system "
        "(ratio: Pulse's figure / the other's; for runs/s higher is better, else lower)",
        *_table(rows),
    ]
    for system in systems:
        found = system.workload("W1")
        if found is not None and found.cpu_ms_per_run:
            cpu = ", ".join(f"{name} {ms:.1f}" for name, ms in found.cpu_ms_per_run.items())
            client = (
                ""
                if found.client_cpu_ms_per_run is None
                else f"; the benchmark client {found.client_cpu_ms_per_run:.1f}"
            )
            lines.append(f"  W1 CPU ms per run of {_LABELS[system.system]}: {cpu}{client}")
    for system in systems:
        found = system.workload("W3")
        if found is not None and found.peak_rss_mib:
            memory = ", ".join(f"{name} {mib:,.0f}" for name, mib in found.peak_rss_mib.items())
            lines.append(f"  W3 peak RSS of {_LABELS[system.system]} (MiB): {memory}")
    for system in systems:
        for workload in system.workloads:
            for example in workload.error_examples:
                lines.append(f"  {_LABELS[system.system]} {workload.workload} error: {example}")
    return lines + _profile_lines(comparison.profile, comparison.profile_runs_per_s)
