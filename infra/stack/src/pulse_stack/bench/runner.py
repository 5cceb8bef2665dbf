"""One benchmark run: start the embedded stack, measure, always stop it, report.

Order: the raw JetStream baseline (first half of the sequential round trips, pipelined,
KV), warm-up runs, the fan-out workload, the overhead workload, the comparison's DAG
workloads on raw JetStream and on Pulse (`comparison_runner`), then the second half of the
sequential round trips, so a machine that got busier during the run shows up as a drift
between the two halves rather than silently skewing the ratios. Temporal's workloads run
after the stack has stopped.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from pulse_client import PulseApiError
from pulse_contracts import utcnow
from pulse_stack.bench.comparison_runner import assemble, measure_on_stack, measure_temporal
from pulse_stack.bench.dag_results import compute_comparison_ratios
from pulse_stack.bench.jetstream import JetStreamBench, RoundTrips
from pulse_stack.bench.machine import load_average, machine_facts
from pulse_stack.bench.params import BENCH_API_KEY, BenchParams
from pulse_stack.bench.results import (
    BaselineResult,
    BenchReport,
    FanoutResult,
    KvResult,
    OverheadResult,
    RoundTripResult,
    compute_ratios,
)
from pulse_stack.bench.runs import RunDriver
from pulse_stack.bench.stats import percentile, summarize
from pulse_stack.bench.workloads import BenchError, measure_fanout, measure_overhead, warm_up
from pulse_stack.launcher import Stack

__all__ = ["run_bench", "service_env"]

Progress = Callable[[str], None]

# A workload that fails is reported as not measured; the other still runs.
_WORKLOAD_ERRORS = (BenchError, TimeoutError, PulseApiError, httpx.HTTPError)


def _ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def _sequential(before: RoundTrips, after: RoundTrips) -> RoundTripResult:
    both = RoundTrips(
        roundtrip_s=before.roundtrip_s + after.roundtrip_s,
        publish_ack_s=before.publish_ack_s + after.publish_ack_s,
        elapsed_s=before.elapsed_s + after.elapsed_s,
    )
    return RoundTripResult(
        mode="sequential",
        messages=len(both.roundtrip_s),
        roundtrip_ms=summarize(_ms(both.roundtrip_s)),
        publish_ack_ms=summarize(_ms(both.publish_ack_s)),
        throughput_per_s=both.throughput_per_s,
    )


def service_env(params: BenchParams) -> dict[str, str]:
    """What the benchmark sets for the services; everything else is their default.

    The gateway's per-key rate limit is off: the benchmark is one client that means to send
    as fast as the system takes runs, and W3 submits 1,000 at once.
    """
    return {
        "PULSE_OFFLINE_LATENCY_MS": str(params.step_latency_ms),
        "PULSE_RATE_LIMIT_PER_S": "0",
    }


async def _measure(stack: Stack, params: BenchParams, progress: Progress) -> BenchReport:
    started_at = utcnow()
    began = time.perf_counter()
    notes: list[str] = []
    bus = JetStreamBench(str(stack.nats_url), params.payload_bytes)
    machine = machine_facts(await bus.open())
    fanout: FanoutResult | None = None
    overhead: OverheadResult | None = None
    try:
        half = params.roundtrip_messages // 2
        progress(f"baseline: {half} sequential JetStream round trips")
        before = await bus.sequential(half)
        progress(f"baseline: {params.pipelined_messages} pipelined messages")
        pipelined = await bus.pipelined(
            params.pipelined_messages,
            window=params.pipeline_window,
            fetch_batch=params.pipeline_fetch_batch,
        )
        progress(f"baseline: {params.kv_updates} KV compare-and-set writes")
        kv = await bus.kv_read_update(params.kv_updates)
        async with RunDriver(stack.gateway_url, BENCH_API_KEY, str(stack.nats_url)) as driver:
            progress(f"warm-up: {params.warmup_runs * 2} runs")
            await warm_up(driver, params)
            progress(
                f"fan-out: {params.fanout_repeats} x ({params.fanout_width} independent "
                f"+ {params.fanout_width} chained) steps of {params.step_latency_ms} ms"
            )
            try:
                fanout = await measure_fanout(driver, params, notes.append)
            except _WORKLOAD_ERRORS as exc:
                notes.append(f"fan-out not measured: {exc}")
            progress(
                f"overhead: {params.overhead_runs} chains of {params.chain_length} "
                f"calculator steps, {params.overhead_concurrency} at a time"
            )
            try:
                overhead = await measure_overhead(driver, params, notes.append)
            except _WORKLOAD_ERRORS as exc:
                notes.append(f"overhead not measured: {exc}")
            on_stack = await measure_on_stack(
                stack,
                driver,
                params,
                progress,
                notes.append,
                nats_version=machine.nats_server,
                pulse_version=machine.pulse_commit or "unknown",
            )
            if driver.undecodable:
                notes.append(f"{driver.undecodable} run events could not be decoded")
        progress(f"baseline: {params.roundtrip_messages - half} more sequential round trips")
        after = await bus.sequential(params.roundtrip_messages - half)
    finally:
        await bus.close()
    baseline = BaselineResult(
        payload_bytes=params.payload_bytes,
        sequential=_sequential(before, after),
        sequential_before_p50_ms=percentile(_ms(before.roundtrip_s), 50),
        sequential_after_p50_ms=percentile(_ms(after.roundtrip_s), 50),
        pipelined=RoundTripResult(
            mode="pipelined",
            messages=len(pipelined.roundtrip_s),
            roundtrip_ms=summarize(_ms(pipelined.roundtrip_s)),
            throughput_per_s=pipelined.throughput_per_s,
            window=params.pipeline_window,
            fetch_batch=params.pipeline_fetch_batch,
        ),
        kv=KvResult(
            operations=len(kv.roundtrip_s),
            read_update_ms=summarize(_ms(kv.roundtrip_s)),
            throughput_per_s=kv.throughput_per_s,
        ),
    )
    return BenchReport(
        started_at=started_at,
        finished_at=utcnow(),
        duration_s=time.perf_counter() - began,
        machine=machine,
        params=params,
        service_env=service_env(params),
        load_average_at_end=load_average(),
        baseline=baseline,
        fanout=fanout,
        overhead=overhead,
        ratios=compute_ratios(baseline, fanout, overhead),
        comparison=assemble(on_stack.systems, on_stack),
        notes=notes,
    )


def run_bench(params: BenchParams, progress: Progress) -> BenchReport:
    """Start a stack of its own, measure, stop it (also on failure), return the figures."""
    with tempfile.TemporaryDirectory(prefix="pulse-bench-") as tmp:
        stack = Stack(
            state_dir=Path(tmp),
            api_keys=f"{BENCH_API_KEY}=bench",
            extra_env=service_env(params),
        )
        progress("starting the embedded stack (nats-server, PostgreSQL, five services)")
        started = time.monotonic()
        with stack:
            progress(f"stack ready in {time.monotonic() - started:.1f} s")
            try:
                report = asyncio.run(_measure(stack, params, progress))
            except Exception:
                for service in stack.running:
                    progress(f"--- {service.spec.name} log tail ---\n{service.proc.log_tail(15)}")
                raise
            finally:
                progress("stopping the stack")
        if "temporal" in params.systems and report.comparison is not None:
            began = time.perf_counter()
            temporal = measure_temporal(
                params, Path(tmp) / "temporal", progress, report.notes.append
            )
            if temporal is not None:
                report.comparison.systems.append(temporal)
                report.comparison.ratios = compute_comparison_ratios(report.comparison.systems)
            report.duration_s += time.perf_counter() - began
            report.finished_at = utcnow()
            report.load_average_at_end = load_average()
        return report
