"""CPU the executor (and nats-server) spends per W1 run (not part of `make bench`).

    .venv/bin/python bench/executor_cost.py [--runs 200] [--in-flight 10] [--repeat 1]
        [--baseline DIR] [--spy DIR] [--step-timeout 3]

Starts an embedded `nats-server` and the executor as a process of its own (`python -m
pulse_executor`, JSON logs at INFO as the stack runs it), and plays every other service
from this process: it writes the gateway's `submitted` run document, publishes a
`PlanCreated` of the benchmark's W1 DAG (1 -> 3 -> 1 `calculator` steps, with a
`traceparent` and baggage as the planner sends them), and answers each `DispatchTask` on
`PULSE_TASKS` with a `TaskFinished` as the agent-adapter does. `--in-flight` runs at once.

A pass ends once every run completed *and* every step timeout those runs scheduled is due
and handled: the steps' `timeout_s` is `--step-timeout` (with a 1 s grace) instead of 30 s,
so the timers that the executor used to let fire for nothing are inside the measured window,
as they are in a long `make bench` W1. It prints CPU (user + system) per run of the executor,
nats-server and this process, the events per run, step timeouts that really happened (there
should be none), and schedules still held by `PULSE_TIMERS` at the end.

`--baseline DIR` runs a second executor that imports the packages in DIR first (say
`pulse_executor/` and `pulse_broker/` from `git archive` of an older commit), pass after
pass with the current one, `--repeat` times, each on a fresh nats-server, so a change in
the machine's load hits both. `--spy DIR` adds a pass of the current executor under py-spy
(`--gil`) and prints its largest areas and frames. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import psutil
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from pulse_contracts import (
    PlanCreated,
    RunState,
    TaskFinished,
    subjects,
    task_message_id,
)
from pulse_stack.bench.dag import calculator_plan
from pulse_stack.bench.profiling import SpyRecorder, summarize_collapsed
from pulse_stack.ports import free_port
from pulse_stack.servers import EmbeddedNats, ServerProcess

_GRACE_S = 1.0
_AGENT_DURABLE = "bench-agent"
_SPY_HZ = 100


@dataclass
class Pass:
    """What one pass saw: runs ended, events by type, the last timeout it scheduled."""

    ended: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    last_due: float = 0.0


class Driver:
    """The gateway, the planner and the agent-adapter, as far as the executor can tell."""

    def __init__(self, url: str, step_timeout_s: float) -> None:
        self._url = url
        self._timeout_s = step_timeout_s
        self.current = Pass()
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        self._nc = await nats.connect(self._url)
        self._js: JetStreamContext = self._nc.jetstream()
        self._kv = await self._js.key_value(subjects.KV_RUN_STATE)
        await self._nc.subscribe(subjects.RUN_EVENTS_WILDCARD, cb=self._on_event)
        self._agent = await self._js.pull_subscribe(
            subjects.TASKS_DISPATCH_WILDCARD, durable=_AGENT_DURABLE, stream=subjects.STREAM_TASKS
        )
        self._tasks.append(asyncio.create_task(self._answer_tasks()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._nc.close()

    async def _on_event(self, msg: Msg) -> None:
        event = json.loads(msg.data)
        kind = event["type"]
        self.current.events[kind] = self.current.events.get(kind, 0) + 1
        if kind == "step.dispatched":
            self.current.last_due = time.monotonic() + self._timeout_s + _GRACE_S
        if kind in ("run.completed", "run.failed"):
            waiter = self.current.ended.get(event["run_id"])
            if waiter is not None and not waiter.done():
                waiter.set_result(kind)

    async def _answer_tasks(self) -> None:
        while True:
            try:
                batch = await self._agent.fetch(64, timeout=0.5)
            except (TimeoutError, nats.errors.Error):  # no task yet, or a fetch cut short
                continue
            await asyncio.gather(*(self._answer(msg) for msg in batch), return_exceptions=True)

    async def _answer(self, msg: Msg) -> None:
        task = json.loads(msg.data)
        left, right = task["input"]["expression"].split(" + ")
        now = datetime.now(UTC)
        result = TaskFinished(
            message_id=task_message_id(task["run_id"], task["step_id"], task["attempt"], "result"),
            run_id=task["run_id"],
            tenant=task["tenant"],
            trace_id=task.get("trace_id"),
            step_id=task["step_id"],
            attempt=task["attempt"],
            tool=task["tool"],
            outcome="succeeded",
            output=int(left) + int(right),
            started_at=now,
            finished_at=now,
            agent="default",
        )
        headers = {"Nats-Msg-Id": result.message_id}
        for name in ("traceparent", "tracestate", "baggage"):
            if msg.headers and name in msg.headers:
                headers[name] = msg.headers[name]
        await self._js.publish(
            subjects.TASKS_RESULT,
            result.model_dump_json().encode(),
            stream=subjects.STREAM_TASKS,
            headers=headers,
        )
        await msg.ack()

    async def run(self, number: int) -> str:
        run_id = f"run-{number:06d}-{secrets.token_hex(3)}"
        trace_id = secrets.token_hex(16)
        prompt = f"calculate {number} + 1, then ..."
        now = datetime.now(UTC)
        submitted = RunState(
            run_id=run_id,
            tenant="bench",
            prompt=prompt,
            trace_id=trace_id,
            created_at=now,
            updated_at=now,
        )
        await self._kv.create(run_id, submitted.model_dump_json().encode())
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.current.ended[run_id] = waiter
        plan = PlanCreated(
            message_id=f"{run_id}:plan",
            run_id=run_id,
            tenant="bench",
            trace_id=trace_id,
            prompt=prompt,
            plan=calculator_plan(str(number), timeout_s=self._timeout_s),
            planner="rule-based",
        )
        await self._js.publish(
            subjects.PLANS_CREATED,
            plan.model_dump_json().encode(),
            stream=subjects.STREAM_RUNS,
            headers={
                "Nats-Msg-Id": plan.message_id,
                "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
                "baggage": f"run_id={run_id},tenant=bench",
            },
        )
        return await asyncio.wait_for(waiter, 120)

    async def runs(self, first: int, count: int, in_flight: int) -> None:
        gate = asyncio.Semaphore(in_flight)

        async def one(number: int) -> None:
            async with gate:
                await self.run(number)

        await asyncio.gather(*(one(first + n) for n in range(count)))

    async def timers_settled(self) -> None:
        """Every timeout the pass scheduled is due and no fired timer is left unhandled."""
        await asyncio.sleep(max(0.0, self.current.last_due - time.monotonic()) + 0.5)
        while True:
            info = await self._js.consumer_info(
                subjects.STREAM_TIMERS, subjects.Durable.EXECUTOR_TIMERS
            )
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.1)

    async def schedules_held(self) -> int:
        info = await self._js.stream_info(subjects.STREAM_TIMERS)
        return info.state.messages


def _cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def _start_executor(
    state: Path, nats_url: str, pythonpath: Path | None
) -> tuple[ServerProcess, int]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "PULSE_NATS_URL": nats_url,
            "PULSE_HTTP_HOST": "127.0.0.1",
            "PULSE_HTTP_PORT": str(port),
            "PULSE_LOG_FORMAT": "json",
            "PULSE_STEP_TIMEOUT_GRACE_S": str(_GRACE_S),
            "OTEL_SERVICE_NAME": "executor",
        }
    )
    if pythonpath is not None:
        inherited = env.get("PYTHONPATH")
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{inherited}" if inherited else str(pythonpath)
    proc = ServerProcess("executor", state / "executor.log")
    proc.spawn([sys.executable, "-m", "pulse_executor"], env=env)
    deadline = time.monotonic() + 60
    while True:
        if not proc.running:
            raise RuntimeError(f"the executor exited:\n{proc.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        if time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"the executor is not ready:\n{proc.log_tail()}")
        time.sleep(0.1)
    assert proc.pid is not None
    return proc, proc.pid


def _spy_report(raw: Path, duration_s: float, rate_hz: int) -> None:
    if not raw.exists():
        print("  py-spy got nothing from the executor")
        return
    profile = summarize_collapsed(
        "executor", raw.read_text(errors="replace"), duration_s=duration_s, rate_hz=rate_hz
    )
    areas = ", ".join(f"{a} {s:.0%}" for a, s in list(profile.by_area.items())[:10])
    print(f"  executor: GIL {profile.core_share:.0%} of the time; {areas}")
    for frame in profile.top_self[:12]:
        print(f"    self {frame.share:5.1%} {frame.frame}")
    for frame in profile.top_inclusive[:25]:
        print(f"    incl {frame.share:5.1%} {frame.frame}")


async def _measure(
    label: str, args: argparse.Namespace, pythonpath: Path | None, spy: Path | None = None
) -> None:
    with tempfile.TemporaryDirectory(prefix="executor-cost-") as tmp:
        state = Path(tmp)
        server = EmbeddedNats(state / "nats")
        server.start()
        executor: ServerProcess | None = None
        try:
            executor, pid = _start_executor(state, server.url, pythonpath)
            server_pid = server.proc.pid
            assert server_pid is not None
            driver = Driver(server.url, args.step_timeout)
            await driver.open()
            try:
                await driver.runs(0, 5, 5)  # warm-up: imports, connections, the timer consumer
                await driver.timers_settled()
                driver.current = Pass()
                recorder = None
                if spy is not None:
                    recorder = SpyRecorder({"executor": pid}, spy, rate_hz=_SPY_HZ)
                    await asyncio.to_thread(recorder.start)  # it waits for py-spy
                began = time.perf_counter()
                cpu = (_cpu_s(pid), _cpu_s(server_pid), _own_cpu_s())
                await driver.runs(1000, args.runs, args.in_flight)
                ran_s = time.perf_counter() - began
                await driver.timers_settled()
                after = (_cpu_s(pid), _cpu_s(server_pid), _own_cpu_s())
                wall = time.perf_counter() - began
                if recorder is not None:
                    await asyncio.to_thread(recorder.stop)
                held = await driver.schedules_held()
            finally:
                await driver.close()
        finally:
            if executor is not None:
                executor.stop()
            server.stop()
    per_run = [(b - a) * 1000 / args.runs for a, b in zip(cpu, after, strict=True)]
    seen = driver.current.events
    timeouts = seen.get("step.failed", 0)
    print(
        f"{label:<9} {args.runs} runs {args.runs / ran_s:5.1f} runs/s ({wall:5.1f} s with timers)"
        f"  CPU ms/run: executor {per_run[0]:6.2f}  nats-server {per_run[1]:5.2f}"
        f"  driver {per_run[2]:5.2f}  | {sum(seen.values()) / args.runs:4.1f} events/run,"
        f" {timeouts} step failures, {held} schedules held",
        flush=True,
    )
    if spy is not None:
        _spy_report(spy / "executor.txt", wall, _SPY_HZ)


def main(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    for _ in range(args.repeat):
        if args.baseline is not None:
            asyncio.run(_measure("baseline", args, args.baseline.resolve()))
        asyncio.run(_measure("current", args, None))
    if args.spy is not None:
        # Sampling slows the executor: a longer timeout keeps real timeouts out of the profile.
        spied = argparse.Namespace(**{**vars(args), "step_timeout": max(args.step_timeout, 20.0)})
        asyncio.run(_measure("spied", spied, None, args.spy))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="W1 runs per measured pass")
    parser.add_argument("--in-flight", type=int, default=10, help="runs at once")
    parser.add_argument("--repeat", type=int, default=1, help="passes per candidate")
    parser.add_argument(
        "--baseline", type=Path, help="packages the baseline executor imports first"
    )
    parser.add_argument("--spy", type=Path, help="py-spy a pass of the current executor into DIR")
    parser.add_argument(
        "--step-timeout", type=float, default=3.0, help="the steps' timeout_s (s), grace 1 s"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main(_arguments())
