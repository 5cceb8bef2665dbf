"""CPU per W1 (or W2) run of the gateway, the planner and the agent-adapter (not in `make bench`).

    .venv/bin/python bench/adapter_cost.py [--runs 300] [--concurrency 10] [--repeat 1]
        [--kind calculator|llm] [--latency-ms 200] [--stack] [--baseline DIR] [--spy DIR]

Default: the three services alone on an embedded nats-server (no executor, archiver nor
PostgreSQL), driven the way the rest of Pulse drives them in W1 (the 1 -> 3 -> 1 DAG of
five `calculator` steps, `--concurrency` runs in flight): `POST /v1/runs` with the
benchmark's goal, wait for the planner's `PlanCreated`, then publish the plan's
`DispatchTask`s level by level as the executor does (its trace context and baggage in the
headers) and wait for each level's `TaskFinished`. Without the other services' CPU on the
same two cores, the figures move far less than the whole stack's; it prints each process'
CPU (user + system) per run.

`--kind llm` drives W2's steps instead: five `llm.complete` calls per run on the offline
provider, which answers after `--latency-ms` (200, as `make bench` sets it). With 200 ms
the runs are few per second and every process pays its per-message costs without the
batching a busier stream gets (the gateway and planner cost more per run too); 0 shows
the LLM path's own cost at W1's pace.

`--stack` runs W1 on the whole embedded stack instead (`pulse_stack.bench`, as `make bench`
does): every process' CPU per run, the figure docs/benchmarks.md reports.

`--baseline DIR` measures a second set of processes whose Python imports the packages found
in DIR first (say `pulse_agent_adapter/` copied from an older tree), alternating with the
current code `--repeat` times, so a change in the machine's load hits both. `--spy DIR`
adds a pass with py-spy (`--gil`) on the three services, keeps the raw stacks in DIR and
prints each one's largest areas and frames. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import nats
from nats.aio.msg import Msg

from pulse_contracts import DispatchTask, PlanCreated, TaskFinished, subjects, task_message_id
from pulse_stack.bench.comparison import WorkloadSpec, measure_workload, warm_up_system
from pulse_stack.bench.dag import ToolKind, pulse_goal
from pulse_stack.bench.dag_results import WorkloadName
from pulse_stack.bench.params import BENCH_API_KEY, BenchParams
from pulse_stack.bench.processes import ProcessSampler
from pulse_stack.bench.profiling import SpyRecorder, summarize_collapsed
from pulse_stack.bench.pulse_dag import PulseDag
from pulse_stack.bench.runner import service_env
from pulse_stack.bench.runs import RunDriver
from pulse_stack.launcher import SERVICES, Stack
from pulse_stack.servers import EmbeddedNats

K = TypeVar("K")
V = TypeVar("V")

_PARTS = ("gateway", "planner", "agent-adapter")
_ORDER = ("gateway", "planner", "executor", "agent-adapter", "archiver", "nats-server", "postgres")


class Parts(Stack):
    """nats-server and the gateway, the planner and the agent-adapter; nothing else."""

    def _start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.nats = EmbeddedNats(self.state_dir / "nats")
        self.nats.start()
        self.nats_url = self.nats.url
        self.database_url = ""  # the gateway then keeps its API keys and runs in NATS only
        for spec in self.services:
            self.start_service(spec)
        for service in self.running:
            self.wait_ready(service)


def _future(table: dict[K, asyncio.Future[V]], key: K) -> asyncio.Future[V]:
    """The future `table` holds for `key`, made on first use by either side."""
    future = table.get(key)
    if future is None:
        future = table[key] = asyncio.get_running_loop().create_future()
    return future


class PartsDriver:
    """Runs W1 against `Parts`: the gateway and planner by HTTP, the adapter by its tasks."""

    def __init__(self, stack: Stack, kind: ToolKind = "calculator") -> None:
        self._stack = stack
        self._kind: ToolKind = kind
        self._plans: dict[str, asyncio.Future[tuple[PlanCreated, dict[str, str]]]] = {}
        self._results: dict[tuple[str, str], asyncio.Future[TaskFinished]] = {}
        self._tags = iter(range(10_000, 10**9))

    async def _on_plan(self, msg: Msg) -> None:
        plan = PlanCreated.model_validate_json(msg.data)
        _future(self._plans, plan.run_id).set_result((plan, dict(msg.headers or {})))

    async def _on_result(self, msg: Msg) -> None:
        done = TaskFinished.model_validate_json(msg.data)
        future = _future(self._results, (done.run_id, done.step_id))
        if not future.done():
            future.set_result(done)

    async def run_all(self, runs: int, concurrency: int) -> None:
        nc = await nats.connect(str(self._stack.nats_url), name="adapter-cost")
        js = nc.jetstream()
        await nc.subscribe(subjects.PLANS_CREATED, cb=self._on_plan)
        await nc.subscribe(subjects.TASKS_RESULT, cb=self._on_result)
        gate = asyncio.Semaphore(concurrency)
        url = self._stack.gateway_url
        auth = {"Authorization": f"Bearer {BENCH_API_KEY}"}
        try:
            async with httpx.AsyncClient(base_url=url, headers=auth, timeout=60) as http:

                async def one() -> None:
                    async with gate:
                        await self._one_run(http, js)

                await asyncio.gather(*(one() for _ in range(runs)))
        finally:
            await nc.close()

    async def _one_run(self, http: httpx.AsyncClient, js: nats.js.JetStreamContext) -> None:
        goal = pulse_goal(self._kind, str(next(self._tags)))
        response = await http.post("/v1/runs", json={"prompt": goal, "metadata": {}})
        response.raise_for_status()
        run_id = str(response.json()["run_id"])
        plan, headers = await asyncio.wait_for(_future(self._plans, run_id), 60)
        del self._plans[run_id]
        done: set[str] = set()
        steps = list(plan.plan.steps)
        while len(done) < len(steps):
            level = [s for s in steps if s.id not in done and set(s.depends_on) <= done]
            for step in level:
                task = DispatchTask(
                    run_id=run_id,
                    tenant=plan.tenant,
                    trace_id=plan.trace_id,
                    message_id=task_message_id(run_id, step.id, 1, "dispatch"),
                    step_id=step.id,
                    attempt=1,
                    tool=step.tool,
                    agent=step.agent,
                    input=step.input,
                    timeout_s=step.timeout_s,
                )
                await js.publish(
                    subjects.dispatch_subject(task.agent),
                    task.model_dump_json().encode(),
                    stream=subjects.STREAM_TASKS,
                    headers={**headers, "Nats-Msg-Id": task.message_id},
                )
            for step in level:
                key = (run_id, step.id)
                finished = await asyncio.wait_for(_future(self._results, key), 60)
                del self._results[key]
                if finished.outcome != "succeeded":
                    raise RuntimeError(f"{step.id} of {run_id}: {finished.error}")
                done.add(step.id)


def _line(label: str, runs: int, elapsed_s: float, cpu_s: dict[str, float]) -> str:
    parts = [f"{name} {cpu_s[name] * 1000 / runs:5.2f}" for name in _ORDER if name in cpu_s]
    total = sum(cpu_s.values()) * 1000 / runs
    return (
        f"{label:<9} {runs:>4} runs {runs / elapsed_s:5.1f}/s  CPU ms/run: "
        f"{'  '.join(parts)}  | all {total:6.1f}"
    )


def _spy_report(out: Path, duration_s: float, rate_hz: int) -> None:
    for service in _PARTS:
        raw = out / f"{service}.txt"
        if not raw.exists():
            print(f"  py-spy got nothing from {service}")
            continue
        profile = summarize_collapsed(
            service, raw.read_text(errors="replace"), duration_s=duration_s, rate_hz=rate_hz
        )
        areas = ", ".join(f"{a} {s:.0%}" for a, s in list(profile.by_area.items())[:8])
        print(f"  {service}: GIL {profile.core_share:.0%} of the time; {areas}")
        for frame in profile.top_self[:8]:
            print(f"    self {frame.share:5.1%} {frame.frame}")


async def _spied(stack: Stack, out: Path, workload: Callable[[], Awaitable[object]]) -> None:
    pids = {s.spec.name: s.proc.pid for s in stack.running if s.proc.pid is not None}
    spy = SpyRecorder({k: v for k, v in pids.items() if k in _PARTS}, out, rate_hz=200)
    spy.start()
    began = time.monotonic()
    try:
        await workload()
    finally:
        spy.stop()
    _spy_report(out, time.monotonic() - began, spy.rate_hz)


async def _measure_parts(stack: Stack, args: argparse.Namespace, label: str) -> None:
    driver = PartsDriver(stack, args.kind)
    await driver.run_all(10, 1)  # warm-up: imports, connections, caches
    pids = stack.pids()
    names = {name.removesuffix("-0"): pid for name, pid in pids.items()}
    with ProcessSampler(names) as sampler:
        began = time.perf_counter()
        await driver.run_all(args.runs, args.concurrency)
        elapsed = time.perf_counter() - began
    print(_line(label, args.runs, elapsed, sampler.cpu_s()), flush=True)
    if args.spy is not None:
        await _spied(stack, args.spy / label, lambda: driver.run_all(args.runs, args.concurrency))


async def _measure_stack(stack: Stack, args: argparse.Namespace, label: str) -> None:
    params = BenchParams(systems=["pulse"], dag_warmup_runs=5)
    kind: ToolKind = args.kind
    latency_ms = 0.0 if kind == "calculator" else float(args.latency_ms)
    name: WorkloadName = "W1" if kind == "calculator" else "W2"
    spec = WorkloadSpec(name, kind, args.runs, args.concurrency, 120.0, latency_ms)
    async with RunDriver(stack.gateway_url, BENCH_API_KEY, str(stack.nats_url)) as driver:
        pulse = PulseDag(stack, driver, label)
        await warm_up_system(pulse, params)
        result = await measure_workload(pulse, spec)
        cpu_s = {k: v * result.completed / 1000 for k, v in result.cpu_ms_per_run.items()}
        print(_line(label, result.completed, result.elapsed_s, cpu_s), flush=True)
        if args.spy is not None:
            await _spied(stack, args.spy / label, lambda: measure_workload(pulse, spec))


def _one(args: argparse.Namespace, label: str, pythonpath: Path | None) -> None:
    env = service_env(BenchParams(step_latency_ms=max(1, args.latency_ms)))
    env["PULSE_OFFLINE_LATENCY_MS"] = str(args.latency_ms)
    if pythonpath is not None:
        inherited = os.environ.get("PYTHONPATH")
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{inherited}" if inherited else str(pythonpath)
    with tempfile.TemporaryDirectory(prefix="adapter-cost-") as tmp:
        keys = f"{BENCH_API_KEY}=bench"
        if args.stack:
            with Stack(state_dir=Path(tmp), api_keys=keys, extra_env=env) as stack:
                asyncio.run(_measure_stack(stack, args, label))
            return
        wanted = tuple(spec for spec in SERVICES if spec.name in _PARTS)
        with Parts(state_dir=Path(tmp), api_keys=keys, extra_env=env, services=wanted) as parts:
            asyncio.run(_measure_parts(parts, args, label))


def main(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    for _ in range(args.repeat):
        if args.baseline is not None:
            _one(args, "baseline", args.baseline.resolve())
        _one(args, "current", None)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="W1 runs per measured pass")
    parser.add_argument("--concurrency", type=int, default=10, help="runs in flight")
    parser.add_argument("--repeat", type=int, default=1, help="passes per candidate")
    parser.add_argument(
        "--kind",
        choices=("calculator", "llm"),
        default="calculator",
        help="the steps' tool: W1's calculator or W2's llm.complete (200 ms offline provider)",
    )
    parser.add_argument(
        "--latency-ms", type=int, default=200, help="the offline provider's answer time"
    )
    parser.add_argument("--stack", action="store_true", help="the whole stack, as make bench")
    parser.add_argument("--baseline", type=Path, help="packages the baseline imports first")
    parser.add_argument("--spy", type=Path, help="py-spy the gateway, planner and adapter")
    return parser.parse_args()


if __name__ == "__main__":
    main(_arguments())
