"""Reading back what the chaos runs left behind: live run state (KV), published events
(PULSE_EVENTS), counters (KV) and the archive (PostgreSQL), and checking it against the goals.

Checks collect problems instead of stopping at the first, so a failure lists everything
that went wrong at once.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg
import httpx
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

from pulse_agent_adapter.adapters import NatsKvCounterStore, OfflineProvider
from pulse_agent_adapter.config import Settings as AdapterSettings
from pulse_agent_adapter.domain import Counter
from pulse_contracts import ChatMessage, JsonValue, RunState, RunStatus, subjects

from .workload import API_KEY, SHARED_KEY, TENANT, Goal

__all__ = [
    "CONSUMERS",
    "Archive",
    "RunWatch",
    "attempts_of",
    "check_archive",
    "check_counters",
    "check_results",
    "deliveries",
    "fetch_runs",
    "published_events",
    "read_archive",
    "read_counters",
    "unacknowledged",
    "wait_archived",
]


@dataclass
class RunWatch:
    """Live status of the accepted runs, read from the run-state KV bucket."""

    nats: Client
    status: dict[str, RunStatus] = field(default_factory=dict)
    _kv: KeyValue | None = None

    async def refresh(self, run_ids: Iterable[str]) -> None:
        """Re-read every run not yet terminal; NATS being away just leaves them unread."""
        try:
            if self._kv is None:
                self._kv = await self.nats.jetstream().key_value(subjects.KV_RUN_STATE)
            for run_id in run_ids:
                if run_id in self.status and self.status[run_id].is_terminal:
                    continue
                try:
                    entry = await self._kv.get(run_id)
                except (KeyNotFoundError, KeyDeletedError):
                    continue  # published over NATS and not planned yet
                if entry.value:
                    self.status[run_id] = RunState.model_validate_json(entry.value).status
        except (NatsError, TimeoutError):
            return  # NATS is restarting: read again next time

    def count(self, run_ids: Iterable[str], status: RunStatus) -> int:
        return sum(1 for r in run_ids if self.status.get(r) is status)

    def in_flight(self, run_ids: Iterable[str]) -> int:
        return sum(1 for r in run_ids if r not in self.status or not self.status[r].is_terminal)

    async def wait_terminal(self, run_ids: list[str], timeout_s: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self.in_flight(run_ids):
            if asyncio.get_running_loop().time() > deadline:
                stuck = [
                    r for r in run_ids if r not in self.status or not self.status[r].is_terminal
                ]
                states = {r: str(self.status.get(r, "unknown")) for r in stuck[:20]}
                raise AssertionError(f"{len(stuck)} runs not terminal after {timeout_s}s: {states}")
            await asyncio.sleep(0.5)
            await self.refresh(run_ids)


async def fetch_runs(gateway_url: str, run_ids: Iterable[str]) -> dict[str, dict[str, JsonValue]]:
    """Every run as the public API shows it."""
    views: dict[str, dict[str, JsonValue]] = {}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
        for run_id in run_ids:
            response = await client.get(f"/v1/runs/{run_id}", headers=headers)
            assert response.status_code == 200, response.text
            views[run_id] = response.json()
    return views


async def _offline_answer(prompt: str) -> str:
    """What the agent-adapter's default (offline, deterministic) provider answers."""
    settings = AdapterSettings()
    completion = await OfflineProvider().complete(
        [ChatMessage(role="user", content=prompt)], settings.llm_model, settings.llm_max_tokens
    )
    return completion.text


async def check_results(
    goals: dict[str, Goal], views: dict[str, dict[str, JsonValue]]
) -> tuple[list[str], list[int]]:
    """Problems with the runs' statuses and outputs, and the counts the shared key returned."""
    problems: list[str] = []
    shared: list[int] = []
    for run_id, goal in goals.items():
        view = views[run_id]
        if view["status"] != "completed":
            problems.append(
                f"{goal.shape} run {run_id} ended {view['status']}: {view.get('error')}"
            )
            continue
        steps = view["steps"]
        assert isinstance(steps, list)
        outputs = {s["step_id"]: s["output"] for s in steps if isinstance(s, dict)}
        for step_id, key in goal.counts.items():
            output = outputs.get(step_id)
            expected = goal.expected_output(run_id, step_id)
            if expected is not None and output != expected:
                problems.append(f"run {run_id} step {step_id}: {output} != {expected}")
            if key == SHARED_KEY:
                if not isinstance(output, dict) or output.get("effect_id") != f"{run_id}:{step_id}":
                    problems.append(f"run {run_id} step {step_id}: shared count {output}")
                elif isinstance(output.get("count"), int):
                    shared.append(int(output["count"]))  # type: ignore[arg-type]
        if goal.calculated is not None:
            todo = outputs.get("s2")
            if outputs.get("s1") != goal.calculated or not (
                isinstance(todo, dict) and todo.get("text") == str(goal.calculated)
            ):
                problems.append(f"run {run_id}: calculation {outputs.get('s1')} / todo {todo}")
        if goal.llm_step is not None:
            step_id, prompt = goal.llm_step
            answer = outputs.get(step_id)
            if answer != await _offline_answer(prompt):
                problems.append(f"run {run_id}: llm answered {answer!r}")
        sinks = {sid: outputs.get(sid) for sid in goal.sinks}
        wanted = sinks[goal.sinks[0]] if len(goal.sinks) == 1 else sinks
        if view["result"] != wanted:
            problems.append(f"run {run_id}: result {view['result']} != {wanted}")
    return problems, shared


async def read_counters(nats: Client, keys: Iterable[str]) -> dict[str, Counter | None]:
    store = NatsKvCounterStore(await nats.jetstream().key_value(subjects.KV_COUNTERS))
    return {key: await store.read(TENANT, key) for key in keys}


def check_counters(
    goals: dict[str, Goal], counters: dict[str, Counter | None], crashed: set[str]
) -> tuple[list[str], int]:
    """Problems with the counters (each step's effect exactly once), and repeated executions.

    `crashed` are keys whose effect was recorded before their step ran: it must have run
    (again) without counting again.
    """
    wanted: dict[str, set[str]] = {}
    for run_id, goal in goals.items():
        for step_id, key in goal.counts.items():
            wanted.setdefault(key, set()).add(f"{run_id}:{step_id}")
    problems: list[str] = []
    repeated = 0
    for key, effects in wanted.items():
        counter = counters.get(key)
        if counter is None:
            problems.append(f"counter {key} missing")
            continue
        repeated += counter.executions - counter.count
        if key in crashed and counter.executions < 2:
            problems.append(f"counter {key}: {counter.executions} executions after a crash")
        if set(counter.effects) != effects:
            extra, missing = set(counter.effects) - effects, effects - set(counter.effects)
            problems.append(f"counter {key}: extra effects {extra}, missing {missing}")
        if sorted(counter.effects.values()) != list(range(1, len(effects) + 1)):
            problems.append(f"counter {key}: ordinals {sorted(counter.effects.values())}")
    return problems, repeated


async def published_events(nats: Client) -> dict[str, set[str]]:
    """Every event id in PULSE_EVENTS, by run: what the archive must hold."""
    js = nats.jetstream()
    total = (await js.stream_info(subjects.STREAM_EVENTS)).state.messages
    sub = await js.pull_subscribe(
        subjects.RUN_EVENTS_WILDCARD,
        stream=subjects.STREAM_EVENTS,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
    )
    events: dict[str, set[str]] = {}
    seen = 0
    try:
        while seen < total:
            for msg in await sub.fetch(512, timeout=10):
                seen += 1
                body = json.loads(msg.data)
                events.setdefault(body["run_id"], set()).add(body["message_id"])
    finally:
        await sub.unsubscribe()
    return events


CONSUMERS: dict[str, str] = {
    subjects.Durable.PLANNER: subjects.STREAM_RUNS,
    subjects.Durable.EXECUTOR_PLANS: subjects.STREAM_RUNS,
    subjects.Durable.AGENT_ADAPTER: subjects.STREAM_TASKS,
    subjects.Durable.EXECUTOR_RESULTS: subjects.STREAM_TASKS,
    subjects.Durable.ARCHIVER: subjects.STREAM_EVENTS,
}
"""The durable consumers the chaos runs go through, with their streams."""


async def deliveries(nats: Client) -> dict[str, int]:
    """How many messages each durable consumer was handed, first deliveries and redeliveries."""
    js = nats.jetstream()
    counts: dict[str, int] = {}
    for durable, stream in CONSUMERS.items():
        info = await js.consumer_info(stream, durable)
        counts[durable] = (info.delivered.consumer_seq or 0) if info.delivered else 0
    return counts


async def unacknowledged(nats: Client, durable: str) -> int:
    """Messages the consumer's service holds right now: delivered, not yet acknowledged."""
    try:
        info = await nats.jetstream().consumer_info(CONSUMERS[durable], durable, timeout=2)
    except (NatsError, TimeoutError):
        return 0
    return info.num_ack_pending or 0


@dataclass
class Archive:
    runs: dict[str, asyncpg.Record]
    events: dict[str, list[asyncpg.Record]]
    rows: int
    distinct_ids: int


async def read_archive(dsn: str) -> Archive:
    conn = await asyncpg.connect(dsn)
    try:
        runs = await conn.fetch("SELECT run_id, status FROM runs WHERE tenant = $1", TENANT)
        events = await conn.fetch(
            "SELECT event_id, run_id, seq, type FROM events WHERE tenant = $1 ORDER BY seq",
            TENANT,
        )
    finally:
        await conn.close()
    by_run: dict[str, list[asyncpg.Record]] = {}
    for event in events:
        by_run.setdefault(event["run_id"], []).append(event)
    return Archive(
        {r["run_id"]: r for r in runs},
        by_run,
        len(events),
        len({e["event_id"] for e in events}),
    )


def check_archive(
    goals: dict[str, Goal], published: dict[str, set[str]], archive: Archive, attempts: Tally[str]
) -> list[str]:
    """Problems with the archive: every run once and completed, every event exactly once.

    `attempts` counts step dispatches per run in the live state: with no retried step a run
    of N steps has exactly 2N + 2 events (started, N dispatched, N completed, completed).
    """
    problems: list[str] = []
    if archive.rows != archive.distinct_ids:
        problems.append(f"{archive.rows - archive.distinct_ids} duplicate event rows")
    if set(archive.runs) != set(goals):
        problems.append(f"runs missing from the archive: {sorted(set(goals) - set(archive.runs))}")
    for run_id, goal in goals.items():
        row = archive.runs.get(run_id)
        if row is not None and row["status"] != "completed":
            problems.append(f"archived run {run_id} is {row['status']}")
        events = archive.events.get(run_id, [])
        ids = {e["event_id"] for e in events}
        if ids != published.get(run_id, set()):
            problems.append(
                f"run {run_id}: archived {len(ids)} of {len(published.get(run_id, ()))}"
            )
        kinds = Tally(e["type"] for e in events)
        steps = goal.steps
        if kinds["run.started"] != 1 or kinds["run.completed"] != 1:
            problems.append(f"run {run_id}: {dict(kinds)}")
        if kinds["step.completed"] != steps or kinds["step.dispatched"] != attempts[run_id]:
            problems.append(f"run {run_id}: {dict(kinds)} for {steps} steps")
        if attempts[run_id] == steps and len(events) != 2 * steps + 2:
            problems.append(f"run {run_id}: {len(events)} events, expected {2 * steps + 2}")
        if [e["seq"] for e in events] != list(range(1, len(events) + 1)):
            problems.append(f"run {run_id}: event seqs {[e['seq'] for e in events]}")
    return problems


def attempts_of(views: dict[str, dict[str, JsonValue]]) -> Tally[str]:
    """Attempts (dispatches) of all steps, per run, as the public API shows them."""
    attempts: Tally[str] = Tally()
    for run_id, view in views.items():
        steps = view["steps"]
        assert isinstance(steps, list)
        for step in steps:
            assert isinstance(step, dict)
            assert isinstance(step["attempt"], int)
            attempts[run_id] += step["attempt"]
    return attempts


async def wait_archived(
    dsn: str,
    goals: dict[str, Goal],
    published: dict[str, set[str]],
    attempts: Tally[str],
    timeout_s: float,
) -> list[str]:
    """Poll the archive until it holds everything, or time runs out: the remaining problems."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        problems = check_archive(goals, published, await read_archive(dsn), attempts)
        if not problems or asyncio.get_running_loop().time() > deadline:
            return problems
        await asyncio.sleep(1.0)
