"""`pulse-stack bench --llm`: what the agent-adapter's LLM gateway costs, and how LLM-bound
goals flow through Pulse — on a stack of its own, against stub providers (real HTTP servers
speaking the OpenAI wire format, `pulse_stack.llm_stub`) in separate processes.

1. Adapter overhead per call: the same chat completion (a stub answering at once) asked
   (a) directly over HTTP with a pooled client — the baseline — and (b) through the
   adapter: a NATS request on `pulse.llm.requests`, the gateway (agent profile, token
   count, breaker, limiter, budget check, usage roll-up; cache off) and its own pooled
   client. The two alternate call by call, so a busier moment hits both; the figures are
   the ratio of medians and of p99s, and the added milliseconds.
2. LLM-bound goals: `goals` runs of one `llm.complete` step each, through the gateway's
   HTTP API, `concurrency` at a time, against a stub answering after `goal_latency_ms`. The
   floor is ceil(goals / concurrency) x latency; the figure is the time taken against it.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
import nats
import yaml
from pydantic import BaseModel, Field

from pulse_contracts import ChatMessage, LlmRequested, LlmResponded, subjects, utcnow
from pulse_stack.bench.machine import MachineFacts, load_average, machine_facts
from pulse_stack.bench.runs import RunDriver
from pulse_stack.bench.stats import Summary, ratio, summarize
from pulse_stack.launcher import Stack
from pulse_stack.ports import free_port, wait_for_port
from pulse_stack.servers import ServerProcess

__all__ = ["LlmBenchParams", "LlmBenchReport", "render_llm", "run_llm_bench", "save_llm"]

Progress = Callable[[str], None]

LLM_API_KEY: Final = "pulse-bench-llm-key"
_MODEL: Final = "gpt-4o-mini"


class LlmBenchParams(BaseModel):
    scale: str = "standard"
    overhead_calls: int = Field(default=400, ge=10, description="Of each kind, alternating.")
    warmup_calls: int = Field(default=30, ge=0)
    goals: int = Field(default=100, ge=1)
    goal_latency_ms: int = Field(default=2300, ge=1)
    concurrency: int = Field(default=32, ge=1)
    run_timeout_s: float = Field(default=180.0, gt=0)

    @classmethod
    def quick(cls) -> LlmBenchParams:
        return cls(scale="quick", overhead_calls=100, warmup_calls=10)

    @property
    def goals_floor_s(self) -> float:
        return math.ceil(self.goals / self.concurrency) * self.goal_latency_ms / 1000


class OverheadFigures(BaseModel):
    calls: int
    direct_ms: Summary
    adapter_ms: Summary
    added_ms: Summary
    """Adapter minus direct, pair by pair."""
    ratio_p50: float | None
    ratio_p99: float | None
    errors: int


class GoalFigures(BaseModel):
    goals: int
    completed: int
    concurrency: int
    latency_ms: int
    elapsed_s: float
    floor_s: float
    ratio_to_floor: float | None
    end_to_end_ms: Summary


class LlmBenchReport(BaseModel):
    started_at: datetime
    duration_s: float
    machine: MachineFacts
    params: LlmBenchParams
    load_average_at_end: tuple[float, float, float]
    overhead: OverheadFigures | None = None
    goals: GoalFigures | None = None
    notes: list[str] = Field(default_factory=list)


def _agents_file(path: Path, fast_url: str, slow_url: str, concurrency: int) -> None:
    provider = {"kind": "openai", "max_concurrency": max(64, concurrency * 2)}
    document = {
        "providers": {
            "stub-fast": {**provider, "base_url": fast_url},
            "stub-slow": {**provider, "base_url": slow_url, "timeout_s": 30},
        },
        "agents": {
            "default": {"provider": "stub-slow", "model": _MODEL, "max_tokens": 64},
            "bench-direct": {"provider": "stub-fast", "model": _MODEL, "cache": False},
        },
    }
    path.write_text(yaml.safe_dump(document))


def _stub(state_dir: Path, name: str, latency_ms: int) -> tuple[ServerProcess, str]:
    port = free_port()
    process = ServerProcess(name, state_dir / f"{name}.log")
    process.spawn(
        [
            sys.executable,
            "-m",
            "pulse_stack.llm_stub",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
        ]
    )
    wait_for_port(port, 20)
    return process, f"http://127.0.0.1:{port}/v1"


async def _overhead(
    nats_url: str, fast_url: str, params: LlmBenchParams, note: Callable[[str], None]
) -> OverheadFigures:
    nc = await nats.connect(nats_url, name="pulse-bench-llm")
    http = httpx.AsyncClient(base_url=fast_url, timeout=30)
    tag = secrets.token_hex(3)
    direct: list[float] = []
    adapter: list[float] = []
    errors = 0

    async def via_http(i: int) -> float:
        body = {
            "model": _MODEL,
            "messages": [{"role": "user", "content": f"overhead {tag} {i}"}],
            "max_tokens": 64,
            "temperature": 0.0,
        }
        began = time.perf_counter()
        response = await http.post("/chat/completions", json=body)
        response.raise_for_status()
        response.json()
        return time.perf_counter() - began

    async def via_adapter(i: int) -> float | None:
        request = LlmRequested(
            message_id=f"bench-{tag}-{i}",
            agent="bench-direct",
            tenant="bench",
            messages=[ChatMessage(role="user", content=f"overhead {tag} {i}")],
            max_tokens=64,
            timeout_s=10,
        )
        began = time.perf_counter()
        reply = await nc.request(subjects.LLM_REQUESTS, request.model_dump_json().encode(), 10)
        elapsed = time.perf_counter() - began
        answer = LlmResponded.model_validate_json(reply.data)
        if answer.error is not None:
            note(f"adapter call {i} failed: {answer.error.message}")
            return None
        return elapsed

    try:
        for i in range(params.warmup_calls):
            await via_http(-i - 1)
            await via_adapter(-i - 1)
        for i in range(params.overhead_calls):
            # Alternate which goes first, so neither always gets the warmer connection.
            if i % 2:
                d, a = await via_http(i), await via_adapter(i)
            else:
                a, d = await via_adapter(i), await via_http(i)
            if a is None:
                errors += 1
                continue
            direct.append(d * 1000)
            adapter.append(a * 1000)
    finally:
        await http.aclose()
        await nc.close()
    added = [a - d for a, d in zip(adapter, direct, strict=True)]
    d_sum, a_sum = summarize(direct), summarize(adapter)
    return OverheadFigures(
        calls=len(direct),
        direct_ms=d_sum,
        adapter_ms=a_sum,
        added_ms=summarize(added),
        ratio_p50=ratio(a_sum.p50, d_sum.p50),
        ratio_p99=ratio(a_sum.p99, d_sum.p99),
        errors=errors,
    )


async def _goals(stack: Stack, params: LlmBenchParams) -> GoalFigures:
    tag = secrets.token_hex(3)
    goals = [f"ask the llm to write note {i} of batch {tag}" for i in range(params.goals)]
    async with RunDriver(stack.gateway_url, LLM_API_KEY, str(stack.nats_url)) as driver:
        await driver.run(f"ask the llm to write a warm-up note {tag}", timeout_s=60)
        began = time.perf_counter()
        records = await driver.run_all(
            goals, concurrency=params.concurrency, timeout_s=params.run_timeout_s
        )
        elapsed = time.perf_counter() - began
    completed = [r for r in records if r.status == "completed"]
    floor = params.goals_floor_s
    return GoalFigures(
        goals=len(records),
        completed=len(completed),
        concurrency=params.concurrency,
        latency_ms=params.goal_latency_ms,
        elapsed_s=elapsed,
        floor_s=floor,
        ratio_to_floor=ratio(elapsed, floor),
        end_to_end_ms=summarize([r.end_to_end_s * 1000 for r in records]),
    )


def run_llm_bench(params: LlmBenchParams, progress: Progress) -> LlmBenchReport:
    """Start stubs and a stack of their own, measure, stop everything (also on failure)."""
    started_at = utcnow()
    began = time.perf_counter()
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pulse-bench-llm-") as tmp:
        state = Path(tmp)
        stubs: list[ServerProcess] = []
        try:
            progress("starting two stub providers (0 ms and the goals' latency)")
            fast, fast_url = _stub(state, "stub-fast", 0)
            stubs.append(fast)
            slow, slow_url = _stub(state, "stub-slow", params.goal_latency_ms)
            stubs.append(slow)
            agents = state / "agents.yaml"
            _agents_file(agents, fast_url, slow_url, params.concurrency)
            stack = Stack(
                state_dir=state / "stack",
                api_keys=f"{LLM_API_KEY}=bench",
                extra_env={
                    "PULSE_AGENTS_FILE": str(agents),
                    "PULSE_RATE_LIMIT_PER_S": "0",
                    "PULSE_MAX_WORKERS": str(max(16, params.concurrency * 2)),
                    "PULSE_LOG_LEVEL": "WARNING",
                },
            )
            progress("starting the embedded stack (nats-server, PostgreSQL, five services)")
            with stack:
                machine = asyncio.run(_machine(str(stack.nats_url)))
                progress(f"overhead: {params.overhead_calls} calls each way, alternating")
                overhead = asyncio.run(
                    _overhead(str(stack.nats_url), fast_url, params, notes.append)
                )
                progress(
                    f"goals: {params.goals} LLM-bound goals, {params.concurrency} at a time, "
                    f"{params.goal_latency_ms} ms each"
                )
                goal_figures: GoalFigures | None = None
                try:
                    goal_figures = asyncio.run(_goals(stack, params))
                except (TimeoutError, httpx.HTTPError) as exc:
                    notes.append(f"goals not measured: {exc}")
                progress("stopping the stack")
        finally:
            for stub in stubs:
                stub.stop()
    return LlmBenchReport(
        started_at=started_at,
        duration_s=time.perf_counter() - began,
        machine=machine,
        params=params,
        load_average_at_end=load_average(),
        overhead=overhead,
        goals=goal_figures,
        notes=notes,
    )


async def _machine(nats_url: str) -> MachineFacts:
    nc = await nats.connect(nats_url)
    try:
        version = nc.connected_server_version
        return machine_facts(f"{version.major}.{version.minor}.{version.patch}")
    finally:
        await nc.close()


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms"


def render_llm(report: LlmBenchReport) -> str:
    m = report.machine
    lines = [
        f"Pulse LLM gateway benchmark — {report.params.scale} scale, "
        f"{report.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, {report.duration_s:.0f} s",
        f"machine: {m.logical_cores} cores, {m.python}; load average (1 min) at end "
        f"{report.load_average_at_end[0]:.2f}",
    ]
    if report.overhead is not None:
        o = report.overhead
        lines += [
            "",
            f"Adapter overhead per call ({o.calls} pairs, stub answering at once, cache off)",
            f"  direct HTTP to the stub      p50 {_ms(o.direct_ms.p50):>10}   p99 {_ms(o.direct_ms.p99):>10}",
            f"  through the adapter (NATS)   p50 {_ms(o.adapter_ms.p50):>10}   p99 {_ms(o.adapter_ms.p99):>10}",
            f"  added per call               p50 {_ms(o.added_ms.p50):>10}   p99 {_ms(o.added_ms.p99):>10}",
            f"  ratio adapter / direct       p50 {o.ratio_p50 or 0:>8.2f} x   p99 {o.ratio_p99 or 0:>8.2f} x"
            + (f"   ({o.errors} failed calls)" if o.errors else ""),
        ]
    if report.goals is not None:
        g = report.goals
        lines += [
            "",
            f"LLM-bound goals ({g.goals} runs of one llm.complete step, {g.latency_ms} ms each, "
            f"{g.concurrency} at a time)",
            f"  completed {g.completed}/{g.goals} in {g.elapsed_s:.2f} s; floor "
            f"ceil({g.goals}/{g.concurrency}) x {g.latency_ms / 1000:g} s = {g.floor_s:.2f} s; "
            f"ratio {g.ratio_to_floor or 0:.2f} x",
            f"  per run, POST to final event: p50 {_ms(g.end_to_end_ms.p50)}, "
            f"p99 {_ms(g.end_to_end_ms.p99)}",
        ]
    lines += [f"  note: {n}" for n in report.notes[:10]]
    return "\n".join(lines)


def save_llm(report: LlmBenchReport, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"llm-{report.started_at.astimezone(UTC):%Y-%m-%dT%H-%M-%SZ}.json"
    path.write_text(report.model_dump_json(indent=2) + "\n")
    return path
