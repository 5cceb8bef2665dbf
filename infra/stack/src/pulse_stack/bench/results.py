"""The figures of one benchmark run, as saved to `bench/results/<UTC time>.json`.

Every latency is a `Summary` in milliseconds (fields end in `_ms`); every ratio is
dimensionless and computed from figures of the same run. `format` changes only when a field
is renamed or removed; new sections (other systems, other workloads) are added beside these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from pulse_stack.bench.dag_results import ComparisonResult
from pulse_stack.bench.machine import MachineFacts
from pulse_stack.bench.params import BenchParams
from pulse_stack.bench.stats import Summary, ratio

__all__ = [
    "REPORT_FORMAT",
    "BaselineResult",
    "BenchReport",
    "FanoutResult",
    "KvResult",
    "OverheadResult",
    "Ratios",
    "RoundTripResult",
    "RunShapeResult",
    "compute_ratios",
]

REPORT_FORMAT: Literal["pulse-bench/1"] = "pulse-bench/1"


class RoundTripResult(BaseModel):
    mode: Literal["sequential", "pipelined"]
    messages: int
    roundtrip_ms: Summary = Field(description="Publish start to the consumer's ack, per message.")
    publish_ack_ms: Summary | None = Field(
        default=None, description="Publish start to its PubAck (sequential only)."
    )
    throughput_per_s: float
    window: int = 1
    fetch_batch: int = 1


class KvResult(BaseModel):
    operations: int
    read_update_ms: Summary = Field(description="A KV get plus a compare-and-set update.")
    throughput_per_s: float


class BaselineResult(BaseModel):
    payload_bytes: int
    sequential: RoundTripResult = Field(description="Both halves, before and after the workloads.")
    sequential_before_p50_ms: float
    sequential_after_p50_ms: float
    pipelined: RoundTripResult
    kv: KvResult


class RunShapeResult(BaseModel):
    goal_example: str
    runs: int
    completed: int
    critical_path_ms: float = Field(description="The sum of tool times on the longest path.")
    span_ms: Summary = Field(description="First step dispatched to the run's final event.")
    end_to_end_ms: Summary = Field(description="The client's POST to it seeing the final event.")
    finish_ms: Summary = Field(description="The last tool finishing to the run's final event.")
    tool_ms: Summary = Field(description="Each step's own run time, as the agent-adapter saw it.")
    spans_ms: list[float] = Field(description="Every measured run's span, in run order.")


class FanoutResult(BaseModel):
    width: int
    step_latency_ms: int
    parallel: RunShapeResult
    chain: RunShapeResult
    parallel_start_spread_ms: Summary = Field(
        description="First to last tool start of the independent steps, per run."
    )


class OverheadResult(BaseModel):
    chain_length: int
    runs: int
    completed: int
    concurrency: int
    handoff_ms: Summary = Field(description="Dispatch to next dispatch, minus the tool's time.")
    dispatch_hop_ms: Summary = Field(description="Step dispatched to its tool starting.")
    result_hop_ms: Summary = Field(description="Tool finished to the next step dispatched.")
    tool_ms: Summary
    finish_ms: Summary = Field(description="Last tool finished to the run's final event.")
    span_per_step_ms: Summary = Field(description="A run's span divided by its steps.")
    end_to_end_ms: Summary
    runs_per_s: float = Field(description="Completed runs per second of the measured phase.")


class Ratios(BaseModel):
    """The headline: each figure against a baseline from the same run."""

    fanout_speedup: float | None = Field(
        default=None, description="Chain span p50 / parallel span p50 (ideal: the width)."
    )
    fanout_vs_critical_path: float | None = Field(
        default=None, description="Parallel span p50 / one step's latency (ideal: 1)."
    )
    chain_vs_critical_path: float | None = Field(
        default=None, description="Chain span p50 / the sum of its steps' latencies (ideal: 1)."
    )
    handoff_p50_vs_roundtrip: float | None = Field(
        default=None, description="Handoff p50 / raw JetStream round trip p50."
    )
    handoff_p99_vs_roundtrip: float | None = Field(
        default=None, description="Handoff p99 / raw JetStream round trip p99."
    )
    span_per_step_p50_vs_roundtrip: float | None = Field(
        default=None, description="Chain span per step p50 / raw JetStream round trip p50."
    )


class BenchReport(BaseModel):
    format: Literal["pulse-bench/1"] = REPORT_FORMAT
    started_at: datetime
    finished_at: datetime
    duration_s: float
    machine: MachineFacts
    params: BenchParams
    service_env: dict[str, str] = Field(description="Settings given to the services.")
    load_average_at_end: tuple[float, float, float]
    baseline: BaselineResult
    fanout: FanoutResult | None = None
    overhead: OverheadResult | None = None
    ratios: Ratios
    comparison: ComparisonResult | None = Field(
        default=None, description="The DAG workloads on Pulse, Temporal and raw JetStream."
    )
    notes: list[str] = Field(default_factory=list)


def _div(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    return ratio(numerator, denominator)


def compute_ratios(
    baseline: BaselineResult, fanout: FanoutResult | None, overhead: OverheadResult | None
) -> Ratios:
    roundtrip = baseline.sequential.roundtrip_ms
    ratios = Ratios()
    if fanout is not None:
        ratios.fanout_speedup = _div(fanout.chain.span_ms.p50, fanout.parallel.span_ms.p50)
        ratios.fanout_vs_critical_path = _div(
            fanout.parallel.span_ms.p50, fanout.parallel.critical_path_ms
        )
        ratios.chain_vs_critical_path = _div(
            fanout.chain.span_ms.p50, fanout.chain.critical_path_ms
        )
    if overhead is not None:
        ratios.handoff_p50_vs_roundtrip = _div(overhead.handoff_ms.p50, roundtrip.p50)
        ratios.handoff_p99_vs_roundtrip = _div(overhead.handoff_ms.p99, roundtrip.p99)
        ratios.span_per_step_p50_vs_roundtrip = _div(overhead.span_per_step_ms.p50, roundtrip.p50)
    return ratios
