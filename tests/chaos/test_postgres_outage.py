"""DESIGN.md: "A Postgres outage delays archiving, never loses an event." PostgreSQL stops
for 30 s while runs keep being submitted and completing; once it is back the archiver
catches up, and the archive holds every run and every event exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest
from nats.aio.client import Client

from pulse_contracts import subjects
from pulse_stack.launcher import Stack

from .audit import (
    RunWatch,
    attempts_of,
    check_results,
    fetch_runs,
    published_events,
    unacknowledged,
    wait_archived,
)
from .workload import Submitter, goal_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.timeout(600),  # only a hang gets near it: the waits below report first
]

log = logging.getLogger("pulse.chaos")

OUTAGE_S = 30.0
BEFORE, DURING, AFTER = 20, 60, 20


async def _archiver_ready(stack: Stack) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{stack.service('archiver').url}/readyz")
    return response.status_code


async def test_archiver_catches_up_after_postgres_was_down(
    chaos_stack: Stack, chaos_nats: Client
) -> None:
    stack = chaos_stack
    assert stack.postgres is not None
    goals = [goal_for(i) for i in range(BEFORE + DURING + AFTER)]
    submitter = Submitter(lambda: stack.gateway_url, chaos_nats)
    watch = RunWatch(chaos_nats)

    await submitter.submit_all(goals[:BEFORE])
    await asyncio.to_thread(stack.postgres.stop)
    down_at = time.monotonic()
    # Runs do not need PostgreSQL: they keep completing while their events wait in the stream.
    await submitter.submit_all(goals[BEFORE : BEFORE + DURING], pace_s=OUTAGE_S / 2 / DURING)
    during = [submitter.accepted[g.index] for g in goals[: BEFORE + DURING]]
    await watch.wait_terminal(during, timeout_s=OUTAGE_S)
    readiness_while_down = await _archiver_ready(stack)
    waiting = await unacknowledged(chaos_nats, subjects.Durable.ARCHIVER)
    info = await chaos_nats.jetstream().consumer_info(
        subjects.STREAM_EVENTS, subjects.Durable.ARCHIVER
    )
    backlog = (info.num_pending or 0) + waiting
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    await asyncio.to_thread(stack.postgres.start)
    up_at = time.monotonic()

    await submitter.submit_all(goals[BEFORE + DURING :])
    run_ids = [submitter.accepted[g.index] for g in goals]
    await watch.wait_terminal(run_ids, timeout_s=120)
    views = await fetch_runs(stack.gateway_url, run_ids)
    by_run = {submitter.accepted[g.index]: g for g in goals}
    problems, _ = await check_results(by_run, views)
    published = await published_events(chaos_nats)
    problems += await wait_archived(
        stack.postgres.dsn, by_run, published, attempts_of(views), timeout_s=120
    )
    caught_up = time.monotonic()
    ready_after = await _archiver_ready(stack)

    summary = "\n".join(
        [
            f"chaos: PostgreSQL down for {up_at - down_at:.1f}s while runs went on",
            f"  runs {len(goals)} ({DURING} submitted during the outage), "
            f"events {sum(len(e) for e in published.values())}",
            f"  archiver /readyz while down: {readiness_while_down}, after: {ready_after}; "
            f"events waiting for the archive while down: {backlog}",
            f"  archive complete {caught_up - up_at:.1f}s after PostgreSQL returned",
            f"  problems: {len(problems)}; logs in {stack.state_dir / 'logs'} (kept if it fails)",
        ]
    )
    print(summary)
    log.warning(summary)
    assert backlog > 0, "the outage should have held events back"
    assert readiness_while_down == 503
    assert ready_after == 200
    assert not problems, "\n".join(problems[:40])
