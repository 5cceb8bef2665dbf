"""The comparison's phases: raw JetStream and Pulse on the running stack, Temporal after it.

On the stack: the JetStream DAG runner on the stack's own `nats-server` (Pulse's services
idle meanwhile), then Pulse; before Pulse's W3, an extra W1 pass with py-spy sampling every
service (not one of the measured passes: sampling slows the services a little). Temporal
runs once the stack has stopped, so the two never share the machine's two cores.
A system that cannot be measured is noted and left out; the others still run.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from pulse_client import PulseApiError
from pulse_stack.bench.comparison import WorkloadSpec, measure_system, measure_workload
from pulse_stack.bench.dag_results import (
    ComparisonResult,
    SystemResult,
    compute_comparison_ratios,
)
from pulse_stack.bench.jetstream_dag import JetStreamDag
from pulse_stack.bench.params import BenchParams
from pulse_stack.bench.profiling import ServiceProfile, SpyRecorder
from pulse_stack.bench.pulse_dag import PulseDag
from pulse_stack.bench.runs import RunDriver
from pulse_stack.bench.workloads import BenchError
from pulse_stack.launcher import Stack

__all__ = ["OnStackResults", "assemble", "measure_on_stack", "measure_temporal"]

Progress = Callable[[str], None]
Note = Callable[[str], None]

_ERRORS = (BenchError, TimeoutError, PulseApiError, httpx.HTTPError, OSError, RuntimeError)


class OnStackResults:
    def __init__(self) -> None:
        self.systems: list[SystemResult] = []
        self.profile: list[ServiceProfile] = []
        self.profile_runs_per_s: float | None = None


async def _profile_pass(
    pulse: PulseDag, params: BenchParams, progress: Progress, note: Note, out: OnStackResults
) -> None:
    if params.profile_runs == 0:
        return
    progress(
        f"pulse profile: {params.profile_runs} W1 runs with py-spy on "
        f"{', '.join(pulse.service_pids())}"
    )
    spec = WorkloadSpec(
        "W1", "calculator", params.profile_runs, params.w1_concurrency, params.run_timeout_s, 0.0
    )
    with tempfile.TemporaryDirectory(prefix="pulse-bench-spy-") as tmp:
        spy = SpyRecorder(pulse.service_pids(), Path(tmp), params.profile_rate_hz)
        spy.start()
        try:
            result = await measure_workload(pulse, spec)
        finally:
            out.profile = spy.stop()
    out.profile_runs_per_s = result.runs_per_s
    for failure in spy.failures:
        note(f"profile: {failure}")


async def measure_on_stack(
    stack: Stack,
    driver: RunDriver,
    params: BenchParams,
    progress: Progress,
    note: Note,
    *,
    nats_version: str,
    pulse_version: str,
) -> OnStackResults:
    out = OnStackResults()
    if "jetstream" in params.systems:
        nats_pid = stack.nats.proc.pid if stack.nats is not None else None
        bus = JetStreamDag(str(stack.nats_url), params.step_latency_ms, nats_pid)
        try:
            await bus.open()
            workloads = await measure_system(bus, params, progress)
            out.systems.append(
                SystemResult(
                    system="jetstream",
                    version=f"nats-server {nats_version}",
                    setup="the same DAG with two persisted JetStream hops per step and nothing "
                    "else: coordinator and worker on two connections in the benchmark's "
                    "process, run state in memory",
                    workloads=workloads,
                )
            )
        except _ERRORS as exc:
            note(f"raw JetStream DAG not measured: {exc}")
        finally:
            await bus.close()
    if "pulse" in params.systems:
        pulse = PulseDag(stack, driver, pulse_version)

        async def profile() -> None:
            await _profile_pass(pulse, params, progress, note, out)

        try:
            workloads = await measure_system(pulse, params, progress, before_w3=profile)
            out.systems.append(
                SystemResult(
                    system="pulse",
                    version=pulse_version,
                    setup="the embedded stack: nats-server, PostgreSQL and the five services "
                    "as processes, default settings but the offline model's latency",
                    workloads=workloads,
                )
            )
        except _ERRORS as exc:
            note(f"Pulse DAG workloads not measured: {exc}")
    return out


def measure_temporal(
    params: BenchParams, state_dir: Path, progress: Progress, note: Note
) -> SystemResult | None:
    """Start Temporal's dev server and a worker, run the workloads, stop both."""
    try:
        from pulse_stack.bench.temporal_dag import TemporalDag
    except ImportError as exc:
        note(f"Temporal not measured: {exc} (install the bench extra: infra/stack[bench])")
        return None
    progress("starting Temporal (temporal server start-dev and a worker process)")
    try:
        with TemporalDag(
            state_dir,
            params.step_latency_ms,
            sqlite_pragmas=tuple(params.temporal_sqlite_pragmas),
        ) as temporal:
            progress(f"Temporal ready: {temporal.version}")

            async def measure() -> SystemResult:
                await temporal.connect()
                sdk = importlib.metadata.version("temporalio")
                return SystemResult(
                    system="temporal",
                    version=f"{temporal.version}; temporalio {sdk}",
                    setup="temporal server start-dev with its state in a SQLite file ("
                    + ", ".join(params.temporal_sqlite_pragmas or ["default pragmas"])
                    + ") and one worker process with the Python SDK's default settings; "
                    "one activity per step",
                    workloads=await measure_system(temporal, params, progress),
                )

            try:
                return asyncio.run(measure())
            finally:
                progress("stopping Temporal")
    except (FileNotFoundError, *_ERRORS) as exc:
        note(f"Temporal not measured: {exc}")
        return None


def assemble(systems: list[SystemResult], on_stack: OnStackResults) -> ComparisonResult:
    return ComparisonResult(
        systems=systems,
        ratios=compute_comparison_ratios(systems),
        profile=on_stack.profile,
        profile_runs_per_s=on_stack.profile_runs_per_s,
    )
