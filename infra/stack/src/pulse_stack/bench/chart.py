"""The comparison as one PNG beside the JSON: eight panels, one bar per system, and ratios.

matplotlib comes with the bench extra; without it `save_chart` returns None and the JSON is
still written.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pulse_stack.bench.dag_results import ComparisonResult, SystemResult, WorkloadName
from pulse_stack.bench.results import BenchReport
from pulse_stack.bench.stats import Summary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["render_chart", "save_chart"]

_COLOURS: Final = {"pulse": "#2f6fb0", "temporal": "#e07b39", "jetstream": "#8a8f98"}
_LABELS: Final = {"pulse": "Pulse", "temporal": "Temporal", "jetstream": "raw JetStream"}


def _bars(
    ax: Axes,
    systems: list[SystemResult],
    values: list[float | None],
    title: str,
    unit: str,
    *,
    log: bool = False,
) -> None:
    names = [_LABELS[s.system] for s in systems]
    heights = [v or 0.0 for v in values]
    bars = ax.bar(names, heights, color=[_COLOURS[s.system] for s in systems])
    for bar, value in zip(bars, values, strict=True):
        label = "n/a" if value is None else (f"{value:,.1f}" if value < 100 else f"{value:,.0f}")
        ax.annotate(
            label,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit)
    if log:
        ax.set_yscale("log")
    ax.tick_params(axis="x", labelsize=8)


def _pair(
    ax: Axes,
    systems: list[SystemResult],
    first: list[float | None],
    second: list[float | None],
    title: str,
    *,
    line: float | None = None,
    line_label: str = "",
    log: bool = True,
) -> None:
    """Two bars per system, the first solid, the second pale, in milliseconds."""
    width = 0.38
    xs = list(range(len(systems)))
    for offset, values, alpha in ((-width / 2, first, 1.0), (width / 2, second, 0.55)):
        heights = [v or 0.0 for v in values]
        bars = ax.bar(
            [x + offset for x in xs],
            heights,
            width,
            color=[_COLOURS[s.system] for s in systems],
            alpha=alpha,
        )
        for bar, height in zip(bars, heights, strict=True):
            ax.annotate(
                f"{height:,.1f}" if height < 100 else f"{height:,.0f}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    if line is not None:
        ax.axhline(line, color="black", linestyle="--", linewidth=1)
        ax.annotate(
            line_label,
            (len(systems) - 0.5, line),
            xytext=(-2, 3),
            textcoords="offset points",
            ha="right",
            fontsize=8,
        )
    ax.set_xticks(xs, [_LABELS[s.system] for s in systems], fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("ms")
    if log:
        ax.set_yscale("log")
    ax.margins(y=0.1)


def _percentile(
    systems: list[SystemResult], name: WorkloadName, field: str, which: str
) -> list[float | None]:
    found: list[float | None] = []
    for system in systems:
        workload = system.workload(name)
        summary: Summary | None = None if workload is None else getattr(workload, field)
        found.append(None if summary is None else float(getattr(summary, which)))
    return found


def _stacked(
    ax: Axes,
    systems: list[SystemResult],
    parts: list[dict[str, float]],
    title: str,
    unit: str,
) -> None:
    """One bar per system made of its processes' shares, the larger ones labelled."""
    names = [_LABELS[s.system] for s in systems]
    tallest = max((sum(p.values()) for p in parts), default=0.0) or 1.0
    for index, (system, part) in enumerate(zip(systems, parts, strict=True)):
        bottom = 0.0
        for process, value in sorted(part.items()):
            ax.bar(
                names[index], value, bottom=bottom, color=_COLOURS[system.system], edgecolor="white"
            )
            if value > tallest / 12:
                ax.annotate(
                    process,
                    (index, bottom + value / 2),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white",
                )
            bottom += value
        shown = f"{bottom:,.1f}" if bottom < 100 else f"{bottom:,.0f}"
        ax.annotate(shown, (index, bottom), ha="center", va="bottom", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylim(0, tallest * 1.12)


_HEADLINES: Final = (
    ("w1_serial_step_overhead_p50", "W1 one in flight: step overhead p50"),
    ("w1_runs_per_s", "W1 time per run (1 / runs/s)"),
    ("w1_step_overhead_p50", "W1 step overhead p50"),
    ("w1_end_to_end_p50", "W1 end to end p50"),
    ("w1_cpu_per_run", "W1 CPU per run"),
    ("w2_end_to_end_p50", "W2 end to end p50"),
    ("w3_drain_s", "W3 time to drain"),
    ("w3_peak_rss_total", "W3 peak RSS"),
)


def _ratios(ax: Axes, comparison: ComparisonResult) -> None:
    """Pulse's figure / each other system's, on a log scale around 1."""
    if not comparison.ratios.pulse_vs:
        ax.text(0.5, 0.5, "no ratios: Pulse or its peers were not measured", ha="center")
        ax.set_axis_off()
        return
    rows = [label for _, label in _HEADLINES]
    height = 0.8 / max(1, len(comparison.ratios.pulse_vs))
    for index, against in enumerate(comparison.ratios.pulse_vs):
        values: list[float | None] = [getattr(against, field) for field, _ in _HEADLINES]
        # a rate is better higher: its inverse keeps "below 1: Pulse better" for every row
        rate = [field for field, _ in _HEADLINES].index("w1_runs_per_s")
        runs_per_s = values[rate]
        values[rate] = 1 / runs_per_s if runs_per_s else None
        ys = [r + index * height for r in range(len(rows))]
        ax.barh(
            ys,
            [v or 0.0 for v in values],
            height,
            color=_COLOURS[against.against],
            label=f"Pulse / {_LABELS[against.against]}",
        )
        for y, value in zip(ys, values, strict=True):
            if value is not None:
                ax.annotate(
                    f"{value:.2g}",
                    (value, y),
                    xytext=(2, -3),
                    textcoords="offset points",
                    fontsize=7,
                )
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks([r + 0.4 - height / 2 for r in range(len(rows))], rows, fontsize=7)
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=2, frameon=False)
    ax.margins(x=0.15)
    ax.set_title("Pulse / the others (below 1: Pulse does better)", fontsize=10)


def render_chart(report: BenchReport, comparison: ComparisonResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = comparison.systems
    fig, axes = plt.subplots(2, 4, figsize=(20, 8.5))
    w1 = [s.workload("W1") for s in systems]
    w3 = [s.workload("W3") for s in systems]
    w1_concurrency = next((w.concurrency for w in w1 if w is not None), 0)
    _bars(
        axes[0][0],
        systems,
        [w.runs_per_s if w else None for w in w1],
        f"W1: runs per second ({w1_concurrency} in flight, zero-latency tools)",
        "runs/s",
    )
    _pair(
        axes[0][1],
        systems,
        _percentile(systems, "W1-serial", "step_overhead_ms", "p50"),
        _percentile(systems, "W1", "step_overhead_ms", "p50"),
        f"W1: step overhead p50, one in flight (solid), {w1_concurrency} (pale)",
    )
    _pair(
        axes[0][2],
        systems,
        _percentile(systems, "W1", "end_to_end_ms", "p50"),
        _percentile(systems, "W1", "end_to_end_ms", "p99"),
        f"W1: end to end, {w1_concurrency} in flight: p50 (solid), p99 (pale)",
    )
    w2 = next((s.workload("W2") for s in systems if s.workload("W2") is not None), None)
    _pair(
        axes[1][0],
        systems,
        _percentile(systems, "W2", "end_to_end_ms", "p50"),
        _percentile(systems, "W2", "end_to_end_ms", "p99"),
        "W2: end to end, p50 (solid), p99 (pale)"
        if w2 is None
        else f"W2: end to end, {w2.critical_path_ms / 3:.0f} ms tools: p50 (solid), p99 (pale)",
        line=None if w2 is None else w2.critical_path_ms,
        line_label="critical path",
        log=False,
    )
    _bars(
        axes[1][1],
        systems,
        [w.elapsed_s if w else None for w in w3],
        f"W3: time to drain {next((w.runs for w in w3 if w is not None), 0)} runs at once",
        "s",
    )
    _stacked(
        axes[1][2],
        systems,
        [w.peak_rss_mib if w else {} for w in w3],
        "W3: peak RSS per process (stacked)",
        "MiB",
    )
    _stacked(
        axes[0][3],
        systems,
        [w.cpu_ms_per_run if w else {} for w in w1],
        "W1: CPU time per run, per process (stacked)",
        "ms",
    )
    _ratios(axes[1][3], comparison)
    m = report.machine
    fig.suptitle(
        f"Pulse, Temporal and raw JetStream — the same 1→3→1 DAG — "
        f"{report.started_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {report.params.scale} scale\n"
        f"{m.logical_cores} cores ({m.cpu_model}), load average {m.load_average_at_start[0]:.1f}"
        f" → {report.load_average_at_end[0]:.1f} (a shared machine: compare ratios)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_chart(report: BenchReport, path: Path) -> Path | None:
    """Write the PNG; None when there is no comparison or matplotlib is not installed."""
    if report.comparison is None or not report.comparison.systems:
        return None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    render_chart(report, report.comparison, path)
    return path
