"""CPU the archiver spends per run event, against a real PostgreSQL (not part of `make bench`).

    .venv/bin/python bench/archiver_cost.py [--runs 167] [--in-flight 16] [--repeat 1]
        [--baseline FILE] [--profile one|many]

Starts an embedded PostgreSQL of its own (fsync on, as the stack runs it), migrates it, and
archives runs shaped like the benchmark's W1 DAG (1 -> 3 -> 1: run.started, five dispatches,
five completions, run.completed = 12 events) through `PostgresArchive.record`, the call the
archiver's handler makes per message. Two passes on a fresh schema each:

- *one at a time*: every event awaited before the next, as on an idle stack;
- *in flight*: `--in-flight` events at once (the consumer's `max_workers`), ten runs
  interleaved, as under W1's load.

It prints this process' CPU (user + system, and the kernel's share) per event and per run, and PostgreSQL's (its
backends summed). FastStream's decoding, tracing and acks are not in these figures: they
are the same before and after a change to the archive. `--baseline FILE` measures another
`PostgresArchive` too (say an older `adapters/postgres.py`, from `git show REV:PATH`),
alternating with the current one pass by pass, so a change in the machine's load hits both. With `--profile one|many` a third pass
runs under pyinstrument and its report follows. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_archiver.adapters import PostgresArchive, create_archive_engine, upgrade
from pulse_contracts import (
    RunCompleted,
    RunEvent,
    RunStarted,
    StepCompleted,
    StepDispatched,
    Usage,
    event_message_id,
)
from pulse_stack.bench.dag import calculator_plan, levels
from pulse_stack.servers import EmbeddedPostgres

_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def w1_run(number: int) -> list[RunEvent]:
    """The events the executor publishes for one W1 run, in the order it publishes them."""
    run_id = f"run-{number:05d}"
    scope = {"run_id": run_id, "tenant": "bench", "trace_id": f"{number:032x}"}
    plan = calculator_plan(str(number))
    clock = itertools.count()

    def at() -> datetime:
        return _T0 + timedelta(seconds=number, milliseconds=next(clock))

    seq = itertools.count()
    events: list[RunEvent] = [
        RunStarted(
            message_id=event_message_id(run_id, "run.started"),
            occurred_at=at(),
            seq=next(seq),
            prompt=f"calculate {number} + 1, then ...",
            plan=plan,
            planner="rule-based",
            **scope,
        )
    ]
    for level in levels():
        for step in level:
            events.append(
                StepDispatched(
                    message_id=event_message_id(run_id, "step.dispatched", step, 1),
                    occurred_at=at(),
                    seq=next(seq),
                    step_id=step,
                    attempt=1,
                    tool="calculator",
                    input=plan.step(step).input,
                    **scope,
                )
            )
        for step in level:
            started = at()
            events.append(
                StepCompleted(
                    message_id=event_message_id(run_id, "step.completed", step, 1),
                    occurred_at=at(),
                    seq=next(seq),
                    step_id=step,
                    attempt=1,
                    tool="calculator",
                    output=number + int(step[1:]),
                    usage=Usage(),
                    started_at=started,
                    finished_at=started,
                    **scope,
                )
            )
    events.append(
        RunCompleted(
            message_id=event_message_id(run_id, "run.completed"),
            occurred_at=at(),
            seq=next(seq),
            result={"s5": number + 5},
            usage=Usage(),
            **scope,
        )
    )
    return events


def interleaved(runs: Sequence[list[RunEvent]], side_by_side: int) -> Iterator[RunEvent]:
    """Events of `side_by_side` runs at a time, round-robin, as runs in flight publish them."""
    for start in range(0, len(runs), side_by_side):
        group = runs[start : start + side_by_side]
        for column in itertools.zip_longest(*group):
            yield from (event for event in column if event is not None)


@dataclass(frozen=True)
class Cost:
    label: str
    events: int
    runs: int
    wall_s: float
    cpu_s: float
    system_s: float
    postgres_cpu_s: float

    def line(self) -> str:
        per_event = self.cpu_s * 1000 / self.events
        per_run = self.cpu_s * 1000 / self.runs
        kernel = self.system_s / self.cpu_s if self.cpu_s else 0.0
        pg = self.postgres_cpu_s * 1000 / self.runs
        return (
            f"{self.label:<23} {self.events:>5} events {self.wall_s:6.2f} s wall  "
            f"archiver CPU {per_event:6.3f} ms/event {per_run:6.2f} ms/run "
            f"({kernel:4.0%} in the kernel)  "
            f"PostgreSQL {pg:5.2f} ms/run  {self.events / self.wall_s:7.0f} events/s"
        )


def _postgres_cpu(server: EmbeddedPostgres) -> float:
    pid = server.proc.pid
    if pid is None:
        return 0.0
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def _fresh_schema(url: str) -> None:
    engine = create_archive_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("DROP TABLE IF EXISTS events, steps, runs, api_keys, alembic_version")
            )
        await upgrade(engine)
    finally:
        await engine.dispose()


class Recorder(Protocol):
    async def record(self, event: RunEvent) -> bool: ...


Archives = Callable[[AsyncEngine], Recorder]


def _load_baseline(path: Path) -> Archives:
    spec = importlib.util.spec_from_file_location("archiver_cost_baseline", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    archives: Archives = module.PostgresArchive
    return archives


async def _one_at_a_time(archive: Recorder, events: Sequence[RunEvent]) -> None:
    for event in events:
        await archive.record(event)


async def _in_flight(archive: Recorder, events: Sequence[RunEvent], limit: int) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(event: RunEvent) -> None:
        async with gate:
            await archive.record(event)

    await asyncio.gather(*(one(e) for e in events))


async def _measure(
    label: str,
    server: EmbeddedPostgres,
    archives: Archives,
    runs: Sequence[list[RunEvent]],
    order: Sequence[RunEvent],
    feed: Callable[[Recorder, Sequence[RunEvent]], Awaitable[None]],
) -> Cost:
    url = server.url()
    await _fresh_schema(url)
    engine = create_archive_engine(url)
    try:
        archive = archives(engine)
        await _one_at_a_time(archive, w1_run(99_999))  # warm-up: connections, caches
        pg_before, cpu_before, wall_before = _postgres_cpu(server), os.times(), time.perf_counter()
        await feed(archive, order)
        wall, cpu = time.perf_counter() - wall_before, os.times()
        pg = _postgres_cpu(server) - pg_before
        user, system = cpu.user - cpu_before.user, cpu.system - cpu_before.system
        async with engine.connect() as conn:
            stored = (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()
        if stored != len(order) + 12:
            raise RuntimeError(f"{label}: {stored} events archived, expected {len(order) + 12}")
        close = getattr(archive, "close", None)
        if close is not None:  # the writer's connection back before the pool is disposed
            await close()
        return Cost(label, len(order), len(runs), wall, user + system, system, pg)
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    runs = [w1_run(n) for n in range(args.runs)]
    serial = [event for run in runs for event in run]
    mixed = list(interleaved(runs, 10))

    def many(archive: Recorder, events: Sequence[RunEvent]) -> Awaitable[None]:
        return _in_flight(archive, events, args.in_flight)

    candidates: list[tuple[str, Archives]] = [("", PostgresArchive)]
    if args.baseline is not None:
        candidates.insert(0, ("baseline ", _load_baseline(args.baseline)))
    passes = [
        ("one at a time", serial, _one_at_a_time),
        (f"{args.in_flight} in flight", mixed, many),
    ]
    with tempfile.TemporaryDirectory(prefix="archiver-cost-") as state:
        server = EmbeddedPostgres(Path(state))
        server.start()
        try:
            for _ in range(args.repeat):
                for label, order, feed in passes:
                    for name, archives in candidates:
                        cost = await _measure(name + label, server, archives, runs, order, feed)
                        print(cost.line(), flush=True)
            if args.profile:
                from pyinstrument import Profiler

                label, order, feed = passes[0 if args.profile == "one" else 1]
                profiler = Profiler(interval=0.0005, async_mode="disabled")
                profiler.start()
                await _measure(label, server, PostgresArchive, runs, order, feed)
                profiler.stop()
                print(profiler.output_text(unicode=False, color=False, show_all=False))
        finally:
            server.stop()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=167, help="W1 runs (12 events each)")
    parser.add_argument("--in-flight", type=int, default=16, help="events at once (max_workers)")
    parser.add_argument("--repeat", type=int, default=1, help="measure every pass N times")
    parser.add_argument("--baseline", type=Path, help="a file with another PostgresArchive")
    parser.add_argument(
        "--profile", choices=["one", "many"], help="pyinstrument a third pass, one or many at once"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
