"""The comparison's figures: the same DAG workloads on Pulse, Temporal and raw JetStream.

Saved in `BenchReport.comparison`. A ratio `pulse_vs_X` is Pulse's figure divided by X's,
whatever the figure: for a rate above 1 is better for Pulse, for a time or memory below 1 is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from pulse_stack.bench.dag import DagRun, SystemName, ToolKind, run_span_s, step_overheads_s
from pulse_stack.bench.profiling import ServiceProfile
from pulse_stack.bench.stats import Summary, ratio, summarize

__all__ = [
    "ComparisonRatios",
    "ComparisonResult",
    "FigureRatios",
    "SystemName",
    "SystemResult",
    "WorkloadName",
    "WorkloadResult",
    "compute_comparison_ratios",
    "summarize_workload",
]

WorkloadName = Literal["W1-serial", "W1", "W2", "W3"]
"""`W1-serial` is W1's DAG with one run in flight: latency without queueing."""

_ERROR_EXAMPLES = 3


class WorkloadResult(BaseModel):
    workload: WorkloadName
    tool: ToolKind
    runs: int
    completed: int
    errors: int
    concurrency: int = Field(description="Runs in flight at once (W3: all of them).")
    elapsed_s: float = Field(description="First submission to the last run's end (W3: drain).")
    runs_per_s: float = Field(description="Completed runs / elapsed_s.")
    critical_path_ms: float = Field(description="Three tool latencies: the least a run can take.")
    end_to_end_ms: Summary | None = Field(
        default=None, description="Submitting a run to the client learning it ended."
    )
    step_overhead_ms: Summary | None = Field(
        default=None,
        description="A step's tool start minus the end of the last tool it waited for.",
    )
    span_ms: Summary | None = Field(
        default=None, description="A run's first tool start to its last tool end."
    )
    peak_rss_mib: dict[str, float] = Field(
        default_factory=dict, description="Peak RSS per process (with its children) meanwhile."
    )
    cpu_ms_per_run: dict[str, float] = Field(
        default_factory=dict,
        description="CPU time (user + system) per completed run, per process of the system.",
    )
    client_cpu_ms_per_run: float | None = Field(
        default=None,
        description="The benchmark's own process per completed run, when it is only the client.",
    )
    error_examples: list[str] = Field(default_factory=list)

    @property
    def peak_rss_total_mib(self) -> float:
        return round(sum(self.peak_rss_mib.values()), 1)

    @property
    def cpu_ms_per_run_total(self) -> float | None:
        return round(sum(self.cpu_ms_per_run.values()), 3) if self.cpu_ms_per_run else None


class SystemResult(BaseModel):
    system: SystemName
    version: str
    setup: str = Field(description="How the system was run, in a sentence.")
    workloads: list[WorkloadResult] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def workload(self, name: WorkloadName) -> WorkloadResult | None:
        return next((w for w in self.workloads if w.workload == name), None)


class FigureRatios(BaseModel):
    """Pulse's figure / the other system's, for one other system."""

    against: SystemName
    w1_serial_step_overhead_p50: float | None = None
    w1_serial_end_to_end_p50: float | None = None
    w1_runs_per_s: float | None = None
    w1_step_overhead_p50: float | None = None
    w1_step_overhead_p99: float | None = None
    w1_end_to_end_p50: float | None = None
    w1_end_to_end_p99: float | None = None
    w1_cpu_per_run: float | None = None
    w2_end_to_end_p50: float | None = None
    w3_drain_s: float | None = None
    w3_peak_rss_total: float | None = None


class ComparisonRatios(BaseModel):
    pulse_vs: list[FigureRatios] = Field(default_factory=list)
    w2_end_to_end_p50_vs_critical_path: dict[str, float] = Field(
        default_factory=dict, description="Per system: W2 end-to-end p50 / 3 x tool latency."
    )
    w2_span_p50_vs_critical_path: dict[str, float] = Field(
        default_factory=dict, description="Per system: W2 tool span p50 / 3 x tool latency."
    )


class ComparisonResult(BaseModel):
    systems: list[SystemResult] = Field(default_factory=list)
    ratios: ComparisonRatios = Field(default_factory=ComparisonRatios)
    profile: list[ServiceProfile] = Field(
        default_factory=list, description="Pulse's services sampled by py-spy during a W1 pass."
    )
    profile_runs_per_s: float | None = Field(
        default=None, description="W1's rate while py-spy sampled (it slows the services)."
    )

    def system(self, name: SystemName) -> SystemResult | None:
        return next((s for s in self.systems if s.system == name), None)


def _ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def _summary(samples: Sequence[float]) -> Summary | None:
    return summarize(samples) if samples else None


def summarize_workload(
    workload: WorkloadName,
    tool: ToolKind,
    runs: Sequence[DagRun],
    *,
    concurrency: int,
    elapsed_s: float,
    critical_path_ms: float,
    peak_rss_mib: dict[str, float],
    cpu_s: dict[str, float] | None = None,
    client_cpu_s: float | None = None,
) -> WorkloadResult:
    done = [r for r in runs if r.ok]
    errors: list[str] = []
    for run in runs:
        if not run.ok and run.error and run.error not in errors:
            errors.append(run.error)
    return WorkloadResult(
        workload=workload,
        tool=tool,
        runs=len(runs),
        completed=len(done),
        errors=len(runs) - len(done),
        concurrency=concurrency,
        elapsed_s=elapsed_s,
        runs_per_s=len(done) / elapsed_s if elapsed_s > 0 else 0.0,
        critical_path_ms=critical_path_ms,
        end_to_end_ms=_summary(_ms([r.end_to_end_s for r in done])),
        step_overhead_ms=_summary(_ms([g for r in done for g in step_overheads_s(r.windows)])),
        span_ms=_summary(_ms([run_span_s(r.windows) for r in done if r.windows])),
        peak_rss_mib=peak_rss_mib,
        cpu_ms_per_run={
            name: round(seconds * 1000 / len(done), 3) for name, seconds in (cpu_s or {}).items()
        }
        if done
        else {},
        client_cpu_ms_per_run=None
        if client_cpu_s is None or not done
        else round(client_cpu_s * 1000 / len(done), 3),
        error_examples=errors[:_ERROR_EXAMPLES],
    )


def _div(pulse: float | None, other: float | None) -> float | None:
    if pulse is None or other is None:
        return None
    return ratio(pulse, other)


def _p(summary: Summary | None, which: Literal["p50", "p99"]) -> float | None:
    return None if summary is None else getattr(summary, which)


def _figure_ratios(pulse: SystemResult, other: SystemResult) -> FigureRatios:
    out = FigureRatios(against=other.system)
    ps, os_ = pulse.workload("W1-serial"), other.workload("W1-serial")
    if ps is not None and os_ is not None:
        out.w1_serial_step_overhead_p50 = _div(
            _p(ps.step_overhead_ms, "p50"), _p(os_.step_overhead_ms, "p50")
        )
        out.w1_serial_end_to_end_p50 = _div(
            _p(ps.end_to_end_ms, "p50"), _p(os_.end_to_end_ms, "p50")
        )
    pw1, ow1 = pulse.workload("W1"), other.workload("W1")
    if pw1 is not None and ow1 is not None:
        out.w1_runs_per_s = _div(pw1.runs_per_s, ow1.runs_per_s)
        out.w1_step_overhead_p50 = _div(
            _p(pw1.step_overhead_ms, "p50"), _p(ow1.step_overhead_ms, "p50")
        )
        out.w1_step_overhead_p99 = _div(
            _p(pw1.step_overhead_ms, "p99"), _p(ow1.step_overhead_ms, "p99")
        )
        out.w1_end_to_end_p50 = _div(_p(pw1.end_to_end_ms, "p50"), _p(ow1.end_to_end_ms, "p50"))
        out.w1_end_to_end_p99 = _div(_p(pw1.end_to_end_ms, "p99"), _p(ow1.end_to_end_ms, "p99"))
        out.w1_cpu_per_run = _div(pw1.cpu_ms_per_run_total, ow1.cpu_ms_per_run_total)
    pw2, ow2 = pulse.workload("W2"), other.workload("W2")
    if pw2 is not None and ow2 is not None:
        out.w2_end_to_end_p50 = _div(_p(pw2.end_to_end_ms, "p50"), _p(ow2.end_to_end_ms, "p50"))
    pw3, ow3 = pulse.workload("W3"), other.workload("W3")
    if pw3 is not None and ow3 is not None:
        out.w3_drain_s = _div(pw3.elapsed_s, ow3.elapsed_s)
        out.w3_peak_rss_total = _div(pw3.peak_rss_total_mib, ow3.peak_rss_total_mib)
    return out


def compute_comparison_ratios(systems: Sequence[SystemResult]) -> ComparisonRatios:
    ratios = ComparisonRatios()
    pulse = next((s for s in systems if s.system == "pulse"), None)
    if pulse is not None:
        ratios.pulse_vs = [_figure_ratios(pulse, s) for s in systems if s.system != "pulse"]
    for system in systems:
        w2 = system.workload("W2")
        if w2 is None or w2.critical_path_ms <= 0:
            continue
        if w2.end_to_end_ms is not None:
            ratios.w2_end_to_end_p50_vs_critical_path[system.system] = (
                w2.end_to_end_ms.p50 / w2.critical_path_ms
            )
        if w2.span_ms is not None:
            ratios.w2_span_p50_vs_critical_path[system.system] = (
                w2.span_ms.p50 / w2.critical_path_ms
            )
    return ratios
