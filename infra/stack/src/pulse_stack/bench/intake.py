"""`pulse-stack bench --intake`: how fast the gateway takes runs in, with the whole stack up.

Measured on a stack of its own, in one run:
- baselines: `GET /healthz` on the same gateway (HTTP and the ASGI stack, nothing else)
  and a raw JetStream publish-and-ack on the same nats-server (the bus floor);
- `POST /v1/runs` one at a time: latency p50/p95/p99 (a run id claimed in KV, then a
  traced `RunRequested` published with its ack awaited);
- `POST /v1/runs` from `concurrency` clients for `duration_s`: the sustained accept rate
  (202s a second) and the latency under that load, with 503s (back-pressure) counted apart.

The planner, executor and agent-adapter work off the accepted runs meanwhile, as they would
in production; the gateway's rate limit is off for the benchmark key. Figures are ratios to
the baselines, because the absolute numbers say more about the machine than about Pulse.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
from pydantic import BaseModel, Field

from pulse_contracts import utcnow
from pulse_stack.bench.jetstream import JetStreamBench
from pulse_stack.bench.machine import MachineFacts, load_average, machine_facts
from pulse_stack.bench.stats import Summary, percentile, ratio, summarize
from pulse_stack.launcher import Stack

__all__ = [
    "IntakeParams",
    "IntakeReport",
    "measure_intake",
    "render_intake",
    "run_intake_bench",
    "save_intake",
]

Progress = Callable[[str], None]

INTAKE_API_KEY: Final = "pulse-bench-intake-key"
_GOAL: Final = "calculate 1 + 1"


class IntakeParams(BaseModel):
    scale: str = "standard"
    sequential_requests: int = Field(default=500, ge=10, description="POSTs one at a time.")
    baseline_requests: int = Field(default=500, ge=10, description="Of each baseline.")
    concurrency: int = Field(default=16, ge=1, description="Clients posting at once.")
    duration_s: float = Field(default=20.0, gt=0, description="Of the sustained phase.")
    warmup_requests: int = Field(default=30, ge=0)

    @classmethod
    def quick(cls) -> IntakeParams:
        return cls(
            scale="quick",
            sequential_requests=150,
            baseline_requests=150,
            duration_s=6.0,
            warmup_requests=10,
        )


class Latency(BaseModel):
    """Milliseconds."""

    summary: Summary
    p95: float


class SustainedResult(BaseModel):
    concurrency: int
    duration_s: float
    accepted: int
    refused_overloaded: int
    other_errors: int
    accepted_per_s: float
    latency_ms: Latency


class IntakeReport(BaseModel):
    started_at: datetime
    duration_s: float
    machine: MachineFacts
    params: IntakeParams
    load_average_at_end: tuple[float, float, float]
    healthz_ms: Latency
    publish_ack_ms: Latency
    post_ms: Latency
    sustained: SustainedResult
    ratios: dict[str, float | None]
    notes: list[str] = Field(default_factory=list)


def _latency(seconds: list[float]) -> Latency:
    ms = [s * 1000 for s in seconds]
    return Latency(summary=summarize(ms), p95=percentile(ms, 95))


async def _one_at_a_time(client: httpx.AsyncClient, n: int, method: str, path: str) -> list[float]:
    body = {"prompt": _GOAL} if method == "POST" else None
    took: list[float] = []
    for _ in range(n):
        began = time.perf_counter()
        response = await client.request(method, path, json=body)
        took.append(time.perf_counter() - began)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
    return took


async def _sustained(client: httpx.AsyncClient, params: IntakeParams) -> SustainedResult:
    accepted_s: list[float] = []
    counts = {"accepted": 0, "overloaded": 0, "other": 0}
    stop_at = time.perf_counter() + params.duration_s

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            try:
                response = await client.post("/v1/runs", json={"prompt": _GOAL})
            except httpx.HTTPError:
                counts["other"] += 1
                continue
            if response.status_code == 202:
                accepted_s.append(time.perf_counter() - began)
                counts["accepted"] += 1
            elif response.status_code == 503:
                counts["overloaded"] += 1
                await asyncio.sleep(0.05)
            else:
                counts["other"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(params.concurrency)))
    elapsed = time.perf_counter() - started
    return SustainedResult(
        concurrency=params.concurrency,
        duration_s=elapsed,
        accepted=counts["accepted"],
        refused_overloaded=counts["overloaded"],
        other_errors=counts["other"],
        accepted_per_s=counts["accepted"] / elapsed if elapsed > 0 else 0.0,
        latency_ms=_latency(accepted_s or [0.0]),
    )


async def measure_intake(stack: Stack, params: IntakeParams, progress: Progress) -> IntakeReport:
    started_at, began = utcnow(), time.perf_counter()
    bus = JetStreamBench(str(stack.nats_url))
    machine = machine_facts(await bus.open())
    limits = httpx.Limits(
        max_connections=params.concurrency, max_keepalive_connections=params.concurrency
    )
    headers = {"Authorization": f"Bearer {INTAKE_API_KEY}"}
    try:
        async with httpx.AsyncClient(
            base_url=stack.gateway_url, headers=headers, timeout=30, limits=limits
        ) as client:
            progress(f"warm-up: {params.warmup_requests} runs")
            await _one_at_a_time(client, params.warmup_requests, "POST", "/v1/runs")
            progress(f"baseline: {params.baseline_requests} GET /healthz, one at a time")
            healthz = await _one_at_a_time(client, params.baseline_requests, "GET", "/healthz")
            progress(f"baseline: {params.baseline_requests} JetStream publish-and-ack round trips")
            publish_ack = (await bus.sequential(params.baseline_requests)).publish_ack_s
            progress(f"POST /v1/runs: {params.sequential_requests}, one at a time")
            posts = await _one_at_a_time(client, params.sequential_requests, "POST", "/v1/runs")
            progress(f"POST /v1/runs: {params.concurrency} clients for {params.duration_s:g} s")
            sustained = await _sustained(client, params)
    finally:
        await bus.close()
    post_ms, healthz_ms, publish_ms = _latency(posts), _latency(healthz), _latency(publish_ack)
    notes = []
    if sustained.refused_overloaded:
        notes.append(
            f"{sustained.refused_overloaded} POSTs got 503: the planner's queue passed "
            "PULSE_MAX_RUN_QUEUE, so back-pressure, not the gateway, set the accept rate"
        )
    return IntakeReport(
        started_at=started_at,
        duration_s=time.perf_counter() - began,
        machine=machine,
        params=params,
        load_average_at_end=load_average(),
        healthz_ms=healthz_ms,
        publish_ack_ms=publish_ms,
        post_ms=post_ms,
        sustained=sustained,
        ratios={
            "post_p50_over_healthz_p50": ratio(post_ms.summary.p50, healthz_ms.summary.p50),
            "post_p50_over_publish_ack_p50": ratio(post_ms.summary.p50, publish_ms.summary.p50),
            "loaded_p50_over_idle_p50": ratio(
                sustained.latency_ms.summary.p50, post_ms.summary.p50
            ),
        },
        notes=notes,
    )


def run_intake_bench(params: IntakeParams, progress: Progress) -> IntakeReport:
    """Start a stack of its own, measure, stop it (also on failure)."""
    with tempfile.TemporaryDirectory(prefix="pulse-bench-intake-") as tmp:
        stack = Stack(
            state_dir=Path(tmp),
            api_keys=f"{INTAKE_API_KEY}=bench",
            extra_env={"PULSE_RATE_LIMIT_PER_S": "0", "PULSE_LOG_LEVEL": "WARNING"},
        )
        progress("starting the embedded stack (nats-server, PostgreSQL, five services)")
        with stack:
            try:
                return asyncio.run(measure_intake(stack, params, progress))
            except Exception:
                for service in stack.running:
                    progress(f"--- {service.spec.name} log tail ---\n{service.proc.log_tail(15)}")
                raise
            finally:
                progress("stopping the stack")


def _row(label: str, latency: Latency, extra: str = "") -> str:
    s = latency.summary
    return f"  {label:<44} {s.p50:8.2f} {latency.p95:8.2f} {s.p99:8.2f}   {extra}".rstrip()


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} x"


def render_intake(report: IntakeReport) -> str:
    m, s, r = report.machine, report.sustained, report.ratios
    lines = [
        f"Pulse intake benchmark — {report.params.scale} scale, "
        f"{report.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, {report.duration_s:.0f} s",
        f"machine: {m.logical_cores} cores ({m.cpu_model}), {m.python}, nats-server {m.nats_server}; "
        f"load {m.load_average_at_start[0]:.2f} -> {report.load_average_at_end[0]:.2f}",
        "",
        f"  {'latency (ms)':<44} {'p50':>8} {'p95':>8} {'p99':>8}",
        _row("GET /healthz (HTTP floor)", report.healthz_ms),
        _row("JetStream publish + ack (bus floor)", report.publish_ack_ms),
        _row("POST /v1/runs, one at a time", report.post_ms),
        _row(f"POST /v1/runs, {s.concurrency} clients", s.latency_ms),
        "",
        f"  sustained: {s.accepted_per_s:,.0f} runs accepted/s over {s.duration_s:.1f} s "
        f"({s.accepted} accepted, {s.refused_overloaded} refused with 503, {s.other_errors} errors)",
        f"  POST p50 / healthz p50: {_times(r['post_p50_over_healthz_p50'])}   "
        f"POST p50 / publish-ack p50: {_times(r['post_p50_over_publish_ack_p50'])}   "
        f"loaded / idle p50: {_times(r['loaded_p50_over_idle_p50'])}",
        *(f"  note: {note}" for note in report.notes),
    ]
    return "\n".join(lines)


def save_intake(report: IntakeReport, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"intake-{report.started_at.astimezone(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    return path
