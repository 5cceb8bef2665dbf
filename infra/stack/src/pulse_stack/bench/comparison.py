"""The three DAG workloads, run the same way on any system that can run the DAG.

- W1: `w1_runs` runs of zero-latency tools, `w1_concurrency` in flight: rate, step overhead,
  end to end; before it `W1-serial`, `w1_serial_runs` of them one at a time: the same
  latencies without queueing.
- W2: `w2_runs` runs of simulated model calls (`step_latency_ms` each), `w2_concurrency` in
  flight: how far a run's completion is from its critical path (3 x the latency).
- W3: `w3_runs` runs of zero-latency tools submitted at once: time to drain, errors, peak
  memory.

Every workload samples each of the system's processes' RSS while it runs. Each run gets a
fresh tag, so no system can answer a step from an earlier run.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Final, Protocol

from pulse_stack.bench.dag import DagRun, ToolKind, critical_path_s
from pulse_stack.bench.dag_results import (
    SystemName,
    WorkloadName,
    WorkloadResult,
    summarize_workload,
)
from pulse_stack.bench.params import BenchParams
from pulse_stack.bench.processes import ProcessSampler

__all__ = [
    "CLIENT_PROCESS",
    "DagSystem",
    "WorkloadSpec",
    "measure_system",
    "measure_workload",
    "warm_up_system",
    "workload_specs",
]

Progress = Callable[[str], None]


class DagSystem(Protocol):
    """Anything that can run the comparison's DAG: Pulse, Temporal, raw JetStream."""

    @property
    def name(self) -> SystemName: ...

    @property
    def runs_in_client(self) -> bool:
        """True when the benchmark's own process is part of the system (raw JetStream)."""
        ...

    def processes(self) -> dict[str, int]:
        """The system's processes whose memory and CPU count, by name."""
        ...

    async def run(self, kind: ToolKind, tag: str, *, timeout_s: float) -> DagRun:
        """One run, until it ends; a failed run is returned with `ok=False`."""
        ...


CLIENT_PROCESS: Final = "benchmark process"
"""The name of the benchmark's own process where it is part of the system."""

_tags: Iterator[int] = itertools.count(1000)


def _fresh_tag() -> str:
    return str(next(_tags))


async def warm_up_system(system: DagSystem, params: BenchParams) -> None:
    """Unmeasured runs of both tool kinds, so first-use costs are paid before W1."""
    for _ in range(params.dag_warmup_runs):
        await system.run("calculator", _fresh_tag(), timeout_s=params.run_timeout_s)
    await asyncio.gather(
        *(
            system.run("llm", _fresh_tag(), timeout_s=params.run_timeout_s)
            for _ in range(max(1, params.dag_warmup_runs // 2))
        )
    )


@dataclass(frozen=True)
class WorkloadSpec:
    name: WorkloadName
    kind: ToolKind
    runs: int
    concurrency: int
    timeout_s: float
    tool_latency_ms: float


def workload_specs(params: BenchParams) -> list[WorkloadSpec]:
    """W1 one run at a time, W1, W2, W3 at the scale of `params`, in the order they run."""
    return [
        WorkloadSpec(
            "W1-serial", "calculator", params.w1_serial_runs, 1, params.run_timeout_s, 0.0
        ),
        WorkloadSpec(
            "W1", "calculator", params.w1_runs, params.w1_concurrency, params.run_timeout_s, 0.0
        ),
        WorkloadSpec(
            "W2",
            "llm",
            params.w2_runs,
            params.w2_concurrency,
            params.run_timeout_s,
            float(params.step_latency_ms),
        ),
        WorkloadSpec("W3", "calculator", params.w3_runs, params.w3_runs, params.w3_timeout_s, 0.0),
    ]


async def measure_workload(system: DagSystem, spec: WorkloadSpec) -> WorkloadResult:
    gate = asyncio.Semaphore(spec.concurrency)
    tags = [_fresh_tag() for _ in range(spec.runs)]

    async def one(tag: str) -> DagRun:
        async with gate:
            return await system.run(spec.kind, tag, timeout_s=spec.timeout_s)

    with ProcessSampler(system.processes()) as sampler:
        began = time.perf_counter()
        done = await asyncio.gather(*(one(tag) for tag in tags))
        elapsed = time.perf_counter() - began
    cpu = sampler.cpu_s()
    client: float | None = sampler.client_cpu_s
    if system.runs_in_client:
        cpu[CLIENT_PROCESS] = sampler.client_cpu_s
        client = None
    return summarize_workload(
        spec.name,
        spec.kind,
        done,
        concurrency=spec.concurrency,
        elapsed_s=elapsed,
        critical_path_ms=critical_path_s(spec.tool_latency_ms),
        peak_rss_mib=sampler.peak_mib(),
        cpu_s=cpu,
        client_cpu_s=client,
    )


async def measure_system(
    system: DagSystem,
    params: BenchParams,
    progress: Progress,
    *,
    before_w3: Callable[[], Awaitable[None]] | None = None,
) -> list[WorkloadResult]:
    """Warm-up, then W1, W2, (`before_w3`), W3 — each a `WorkloadResult`."""
    progress(f"{system.name}: warm-up")
    await warm_up_system(system, params)
    results: list[WorkloadResult] = []
    for spec in workload_specs(params):
        if spec.name == "W3" and before_w3 is not None:
            await before_w3()
        progress(
            f"{system.name} {spec.name}: {spec.runs} runs of {spec.kind}, "
            f"{spec.concurrency} in flight"
        )
        result = await measure_workload(system, spec)
        progress(
            f"{system.name} {spec.name}: {result.completed}/{result.runs} in "
            f"{result.elapsed_s:.1f} s ({result.runs_per_s:.1f} runs/s), {result.errors} errors"
        )
        results.append(result)
    return results
