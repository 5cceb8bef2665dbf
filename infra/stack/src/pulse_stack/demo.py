"""The sample goals `make demo` runs, with live progress and a summary of each run."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Final, cast

from pulse_client import PulseClient
from pulse_client.client import RunView
from pulse_client.render import render_progress, render_run

__all__ = ["SAMPLE_GOALS", "run_demo"]

SAMPLE_GOALS: Final = (
    "calculate 5 * 3, add the result as a todo, then list all todos",
    "calculate 12 * 7 and calculate 100 / 4, then add both results as todos, then list all todos",
    "calculate 6 * 7, then ask the llm to explain the result",
)


def _overlap_note(run: RunView) -> str | None:
    """Say which steps ran at the same time, from their recorded start and end times."""
    steps = [
        s
        for s in cast(list[dict[str, str]], run.get("steps") or [])
        if s.get("started_at") and s.get("finished_at")
    ]
    spans = [
        (
            s["step_id"],
            datetime.fromisoformat(s["started_at"]),
            datetime.fromisoformat(s["finished_at"]),
        )
        for s in steps
    ]
    pairs = [
        f"{a} ‖ {b}"
        for i, (a, a0, a1) in enumerate(spans)
        for (b, b0, b1) in spans[i + 1 :]
        if a0 < b1 and b0 < a1
    ]
    return f"  ran in parallel: {', '.join(pairs)}" if pairs else None


async def _follow(client: PulseClient, label: str, goal: str) -> RunView:
    created = await client.create_run(goal)
    run_id = str(created["run_id"])
    print(f"[{label}] submitted {run_id}: {goal!r}", flush=True)
    seen: dict[str, str] = {}
    run: RunView = created
    async for run in client.watch(run_id, poll_s=0.05, timeout_s=120):
        for line in render_progress(run, seen):
            print(f"[{label}]{line}", flush=True)
    return run


async def run_demo(gateway_url: str, api_key: str, goals: tuple[str, ...] = SAMPLE_GOALS) -> bool:
    """Submit every goal at once, print progress, then each result. True if all completed."""
    async with PulseClient(gateway_url, api_key) as client:
        runs = await asyncio.gather(
            *(_follow(client, f"goal {i + 1}", g) for i, g in enumerate(goals))
        )
    print("\n=== results ===")
    for run in runs:
        print(render_run(run))
        note = _overlap_note(run)
        if note:
            print(note)
        print()
    return all(run["status"] == "completed" for run in runs)
