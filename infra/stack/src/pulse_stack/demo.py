"""The sample goals `make demo` runs, with live progress, a summary of each run and its
waterfall (what `pulse trace <run_id>` prints).

Goals go in over HTTP, like any client's; progress comes from the run events every run
publishes on `pulse.runs.events.<run_id>` — the same public subject other systems follow;
the waterfalls come from the archive, through `GET /v1/runs/{id}/timeline`.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from datetime import datetime
from typing import Final, cast

import nats
from nats.aio.msg import Msg

from pulse_broker import server_caught_up
from pulse_client import PulseClient, Timeline, render_waterfall
from pulse_client.client import RunView
from pulse_client.render import render_run, short
from pulse_client.trace_cli import uses_colour
from pulse_contracts import RUN_EVENT_ADAPTER, subjects
from pulse_contracts.events import (
    RunCompleted,
    RunEvent,
    RunFailed,
    RunRejected,
    RunStarted,
    StepCompleted,
    StepDispatched,
    StepFailed,
)

__all__ = ["DEMO_LLM_LATENCY_MS", "SAMPLE_GOALS", "run_demo"]

SAMPLE_GOALS: Final = (
    "calculate 5 * 3, add the result as a todo, then list all todos",
    "ask the llm to write a haiku about rivers and ask the llm to write a limerick about queues, "
    "then add both results as todos",
    "calculate 6 * 7, then ask the llm to explain the result",
)
DEMO_LLM_LATENCY_MS: Final = 400
"""The offline model answers this slowly in the demo, so parallel steps are visible."""
ARCHIVE_WAIT_S: Final = 20.0
"""How long to wait for the archiver to hold a finished run before drawing its waterfall."""


def _describe(event: RunEvent) -> str:
    match event:
        case RunStarted():
            return f"planned {len(event.plan.steps)} steps: " + ", ".join(
                f"{s.id}={s.tool}" for s in event.plan.steps
            )
        case StepDispatched():
            return f"{event.step_id} {event.tool:<13} dispatched"
        case StepCompleted():
            ms = (event.finished_at - event.started_at).total_seconds() * 1000
            return (
                f"{event.step_id} {event.tool:<13} done in {ms:.0f} ms -> {short(event.output, 60)}"
            )
        case StepFailed():
            return f"{event.step_id} {event.tool:<13} FAILED: {event.error.message}"
        case RunCompleted():
            return "run completed"
        case RunFailed():
            return f"run failed: {event.error.message}"
        case RunRejected():
            return f"run rejected: {event.error.message}"
    return event.type


def _parallel_note(run: RunView) -> str | None:
    """Which steps ran at the same time, from their recorded start and end times."""
    steps = cast(list[dict[str, str]], run.get("steps") or [])
    spans = [
        (
            s["step_id"],
            datetime.fromisoformat(s["started_at"]),
            datetime.fromisoformat(s["finished_at"]),
        )
        for s in steps
        if s.get("started_at") and s.get("finished_at")
    ]
    pairs = [
        f"{a} ‖ {b}"
        for i, (a, a0, a1) in enumerate(spans)
        for (b, b0, b1) in spans[i + 1 :]
        if a0 < b1 and b0 < a1
    ]
    if not pairs:
        return None
    busy = sum((end - start).total_seconds() for _, start, end in spans)
    wall = (max(e for *_, e in spans) - min(s for _, s, _ in spans)).total_seconds()
    return f"  ran in parallel: {', '.join(pairs)} — {busy:.2f}s of step time in {wall:.2f}s"


async def run_demo(
    gateway_url: str, api_key: str, nats_url: str, goals: tuple[str, ...] = SAMPLE_GOALS
) -> bool:
    """Submit every goal at once, print events as they happen, then each run. True if all completed."""
    labels: dict[str, str] = {}
    early: list[Msg] = []
    started = time.monotonic()

    def show(msg: Msg) -> None:
        event = RUN_EVENT_ADAPTER.validate_json(msg.data)
        label = labels.get(event.run_id, "?")
        print(f"  +{time.monotonic() - started:6.3f}s [{label}] {_describe(event)}", flush=True)

    async def on_event(msg: Msg) -> None:
        run_id = msg.subject.rsplit(".", 1)[-1]
        if run_id in labels:
            show(msg)
        else:  # arrived before the gateway's answer told us which goal it belongs to
            early.append(msg)

    nc = await nats.connect(nats_url)
    try:
        await nc.subscribe(subjects.RUN_EVENTS_WILDCARD, cb=on_event)
        await server_caught_up(nc)  # no run starts before we listen
        async with PulseClient(gateway_url, api_key) as client:
            created = await asyncio.gather(*(client.create_run(goal) for goal in goals))
            for i, (goal, run) in enumerate(zip(goals, created, strict=True)):
                labels[str(run["run_id"])] = f"goal {i + 1}"
                print(f"[goal {i + 1}] {goal}\n         run {run['run_id']}", flush=True)
            print("\nprogress (from pulse.runs.events.<run_id>):", flush=True)
            for msg in early:
                show(msg)
            runs = await asyncio.gather(*(client.wait(str(run["run_id"])) for run in created))
            await asyncio.sleep(0.1)  # the last events of a run may trail its final state
            timelines = await asyncio.gather(
                *(
                    client.settled_timeline(str(run["run_id"]), timeout_s=ARCHIVE_WAIT_S)
                    for run in created
                )
            )
    finally:
        await nc.close()

    print("\nresults:")
    for run in runs:
        print(render_run(run))
        note = _parallel_note(run)
        if note:
            print(note)
        print()
    width = shutil.get_terminal_size((120, 24)).columns
    print("waterfalls (from the archive; `pulse trace <run_id>` prints the same):\n")
    for body in timelines:
        print(
            render_waterfall(
                Timeline.model_validate(body), width=width, colour=uses_colour(sys.stdout)
            )
        )
        print()
    return all(run["status"] == "completed" for run in runs)
