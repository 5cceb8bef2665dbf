"""Invariant 1 of DESIGN.md under faults: with runs in flight, SIGKILL each service in turn
and restart it, then restart nats-server; no run is lost, no step's effect happens twice,
and PostgreSQL holds every run and every event exactly once.

Runs are submitted in bursts; each fault hits while its burst is half accepted, so it lands
among runs being planned, dispatched, executed and archived, and among submissions still
arriving (which retry until accepted).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from nats.aio.client import Client

from pulse_contracts import subjects
from pulse_stack.launcher import Stack

from .audit import (
    RunWatch,
    attempts_of,
    check_counters,
    check_results,
    deliveries,
    fetch_runs,
    published_events,
    read_counters,
    unacknowledged,
    wait_archived,
)
from .workload import Goal, Submitter, goal_for, record_crashed_executions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    # Past the suite's 300 s default only when something hangs: then the test's own
    # deadlines (drain, archive) report what is stuck before the timeout would.
    pytest.mark.timeout(600),
]

log = logging.getLogger("pulse.chaos")

WARM_UP = 20
BURST = 60
AFTERWARDS = 20
HELD = {subjects.Durable.AGENT_ADAPTER: 4}
"""A service is hit once half its burst is accepted and its consumer holds at least this many
unacknowledged messages (default 1; the agent-adapter holds slow LLM calls)."""

# Each fault, and the consumer whose unacknowledged messages show the fault lands mid-work
# (the gateway has none: it is hit while half its burst is still being submitted).
FAULTS: tuple[tuple[str, str | None], ...] = (
    ("executor", subjects.Durable.EXECUTOR_RESULTS),
    ("agent-adapter", subjects.Durable.AGENT_ADAPTER),
    ("planner", subjects.Durable.PLANNER),
    ("archiver", subjects.Durable.ARCHIVER),
    ("gateway", None),
    ("nats-server", subjects.Durable.AGENT_ADAPTER),
)


def _fault(stack: Stack, target: str) -> Callable[[], None]:
    def inject() -> None:
        if target == "nats-server":
            assert stack.nats is not None
            stack.nats.restart()
        else:
            stack.restart_service(target, kill=True)

    return inject


async def _until_busy(
    nats: Client, submitter: Submitter, burst: list[Goal], durable: str | None
) -> int:
    """Wait until the fault would land mid-work; return how many messages were held then."""
    deadline = time.monotonic() + 20
    held = 0
    while time.monotonic() < deadline:
        if sum(g.index in submitter.accepted for g in burst) < len(burst) // 2:
            await asyncio.sleep(0.02)
            continue
        if durable is None:
            return 0
        held = await unacknowledged(nats, durable)
        if held >= HELD.get(durable, 1):
            return held
        await asyncio.sleep(0.01)
    return held


async def _monitor(watch: RunWatch, submitter: Submitter, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await watch.refresh(list(submitter.accepted.values()))
        await asyncio.sleep(0.5)


async def test_no_run_lost_and_no_effect_twice_while_services_die(
    chaos_stack: Stack, chaos_nats: Client
) -> None:
    stack = chaos_stack
    total = WARM_UP + BURST * len(FAULTS) + AFTERWARDS
    # Every 8th run is published straight onto NATS, as another system would.
    all_goals = [goal_for(i, over_nats=i % 8 == 7) for i in range(total)]
    submitter = Submitter(lambda: stack.gateway_url, chaos_nats)
    watch = RunWatch(chaos_nats)
    stop = asyncio.Event()
    monitor = asyncio.create_task(_monitor(watch, submitter, stop))
    started = time.monotonic()

    crashed = await record_crashed_executions(chaos_nats, [g for g in all_goals if g.over_nats])
    await submitter.submit_all(all_goals[:WARM_UP])
    at_fault: dict[str, str] = {}
    fault_seconds: dict[str, float] = {}
    for n, (target, durable) in enumerate(FAULTS):
        burst = all_goals[WARM_UP + n * BURST : WARM_UP + (n + 1) * BURST]
        # Intake is hit mid-submission (paced); everyone else under a backlog (a rush).
        pace = 0.04 if durable is None else 0.0
        submitting = asyncio.create_task(submitter.submit_all(burst, concurrency=12, pace_s=pace))
        held = await _until_busy(chaos_nats, submitter, burst, durable)
        await watch.refresh(list(submitter.accepted.values()))
        in_flight = watch.in_flight(submitter.accepted.values())
        at_fault[target] = f"{in_flight} runs" + (f", {held} held" if durable else "")
        t0 = time.monotonic()
        await asyncio.to_thread(_fault(stack, target))
        fault_seconds[target] = time.monotonic() - t0
        await submitting
    await submitter.submit_all(all_goals[total - AFTERWARDS :], pace_s=0.04)
    submitted = time.monotonic()

    run_ids = [submitter.accepted[g.index] for g in all_goals]
    assert len(set(run_ids)) == total
    try:
        await watch.wait_terminal(run_ids, timeout_s=180)
    finally:
        stop.set()
        await monitor
    drained = time.monotonic()

    goals = {submitter.accepted[g.index]: g for g in all_goals}
    views = await fetch_runs(stack.gateway_url, run_ids)
    problems, shared = await check_results(goals, views)
    if sorted(shared) != list(range(1, len(shared) + 1)):
        problems.append(f"shared counter returned {sorted(shared)}")
    keys = {key for goal in all_goals for key in goal.counts.values()}
    counter_problems, repeated = check_counters(
        goals, await read_counters(chaos_nats, keys), crashed
    )
    problems += counter_problems
    attempts = attempts_of(views)
    published = await published_events(chaos_nats)
    assert stack.postgres is not None
    problems += await wait_archived(stack.postgres.dsn, goals, published, attempts, 120)
    archived = time.monotonic()
    handed = await deliveries(chaos_nats)

    steps = sum(g.steps for g in all_goals)
    retried_steps = sum(attempts.values()) - steps
    summary = "\n".join(
        [
            "chaos: services SIGKILLed in turn, then nats-server restarted",
            f"  runs {total} ({sum(g.over_nats for g in all_goals)} over NATS), steps {steps}, "
            f"counter effects {sum(len(g.counts) for g in all_goals)}",
            "  faults (in flight when injected; messages the consumer held; back after): "
            + "; ".join(f"{t} {at_fault[t]}, {fault_seconds[t]:.1f}s" for t, _ in FAULTS),
            f"  deliveries: {handed} for {total} runs, {sum(attempts.values())} tasks, "
            f"{sum(len(e) for e in published.values())} events",
            f"  submissions retried: {sum(submitter.retries.values())} {submitter.retries}",
            f"  repeated executions of counter steps: {repeated} ({len(crashed)} after a "
            f"simulated crash past the effect, {repeated - len(crashed)} from the faults); "
            f"every effect counted once: {not counter_problems}; re-dispatched attempts: "
            f"{retried_steps}",
            f"  submitting {submitted - started:.1f}s, drained {drained - submitted:.1f}s later, "
            f"archive complete {archived - drained:.1f}s after that",
            f"  problems: {len(problems)}; logs in {stack.state_dir / 'logs'} (kept if it fails)",
        ]
    )
    print(summary)
    log.warning(summary)
    assert not problems, "\n".join(problems[:40])
