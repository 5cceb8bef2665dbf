"""The chaos workload: goals of several DAG shapes, what each must end with, and a submitter
that keeps submitting through faults.

Most steps are `counter.increment`, whose effect must happen exactly once per step. Each run
counts keys of its own (so its result is known in advance) and some also count the shared
key `total`, whose counts across all runs must be exactly 1..N: one ordinal per effect.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import httpx
from nats.aio.client import Client

from pulse_agent_adapter.adapters import NatsKvCounterStore
from pulse_contracts import JsonValue, RunRequested, subjects

__all__ = [
    "API_KEY",
    "SHARED_KEY",
    "TENANT",
    "Goal",
    "Submitter",
    "goal_for",
    "record_crashed_executions",
]

TENANT: Final = "chaos"
API_KEY: Final = "chaos-key"
SHARED_KEY: Final = "total"


@dataclass(frozen=True)
class Goal:
    """One run to submit: its prompt and what its steps must produce."""

    index: int
    shape: str
    prompt: str
    counts: dict[str, str]
    """Counter step id -> the key it increments."""
    sinks: tuple[str, ...]
    calculated: int | None = None
    """For the calculator shape: what s1 computes (s2 stores it as a todo)."""
    llm_step: tuple[str, str] | None = None
    """A step that asks the (offline, deterministic) LLM, and its prompt."""
    over_nats: bool = False
    run_id: str = ""

    @property
    def steps(self) -> int:
        return len(self.counts) + (2 if self.calculated is not None else 0) + bool(self.llm_step)

    @property
    def idempotency_key(self) -> str:
        return f"chaos-{self.index}"

    def expected_output(self, run_id: str, step_id: str) -> dict[str, JsonValue] | None:
        """A counter step's output, except the count of the shared key (checked apart)."""
        key = self.counts.get(step_id)
        if key is None or key == SHARED_KEY:
            return None
        return {"key": key, "count": 1, "effect_id": f"{run_id}:{step_id}"}


def goal_for(index: int, *, over_nats: bool = False) -> Goal:
    """The index-th goal: chains, fan-out/fan-in, diamonds, parallel sinks, calculations,
    LLM calls."""
    t = f"r{index}"
    run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"pulse-chaos-{index}").hex if over_nats else ""
    kind = index % 10
    if kind < 3:
        return Goal(
            index,
            "chain",
            f"count {t}-a, then count {t}-b, then increment {t}-c, then count {SHARED_KEY}",
            {"s1": f"{t}-a", "s2": f"{t}-b", "s3": f"{t}-c", "s4": SHARED_KEY},
            ("s4",),
            over_nats=over_nats,
            run_id=run_id,
        )
    if kind < 5:
        return Goal(
            index,
            "fan-out/fan-in",
            f"count {t}-a, then count {t}-b and count {t}-c and count {t}-d, then count {t}-e",
            {"s1": f"{t}-a", "s2": f"{t}-b", "s3": f"{t}-c", "s4": f"{t}-d", "s5": f"{t}-e"},
            ("s5",),
            over_nats=over_nats,
            run_id=run_id,
        )
    if kind == 5:
        # The offline LLM's latency keeps these runs (and the agent-adapter) busy for a while.
        return Goal(
            index,
            "llm fan-out",
            f"count {t}-a, then ask the llm to describe chaos {t}, then count {t}-b and count {t}-c",
            {"s1": f"{t}-a", "s3": f"{t}-b", "s4": f"{t}-c"},
            ("s3", "s4"),
            llm_step=("s2", f"describe chaos {t}"),
            over_nats=over_nats,
            run_id=run_id,
        )
    if kind < 8:
        return Goal(
            index,
            "diamond",
            f"count {t}-top, then count {t}-left and count {t}-right, then count {SHARED_KEY}",
            {"s1": f"{t}-top", "s2": f"{t}-left", "s3": f"{t}-right", "s4": SHARED_KEY},
            ("s4",),
            over_nats=over_nats,
            run_id=run_id,
        )
    if kind == 8:
        return Goal(
            index,
            "parallel",
            f"count {t}-x and count {t}-y, count {t}-z",
            {"s1": f"{t}-x", "s2": f"{t}-y", "s3": f"{t}-z"},
            ("s1", "s2", "s3"),
            over_nats=over_nats,
            run_id=run_id,
        )
    return Goal(
        index,
        "calculate+todo",
        f"calculate {index} * 3, then add the result as a todo, then count {t}-done",
        {"s3": f"{t}-done"},
        ("s3",),
        calculated=index * 3,
        over_nats=over_nats,
        run_id=run_id,
    )


@dataclass
class Submitter:
    """Submits goals over HTTP (idempotency key) or NATS (`Nats-Msg-Id`), retrying every
    failure until accepted: retries are safe because both paths are idempotent."""

    gateway_url: Callable[[], str]
    nats: Client
    timeout_s: float = 120.0
    accepted: dict[int, str] = field(default_factory=dict)
    """Goal index -> run id."""
    retries: dict[str, int] = field(default_factory=dict)
    """Why a submission was retried -> how often."""

    def _retry(self, reason: str) -> None:
        self.retries[reason] = self.retries.get(reason, 0) + 1

    async def submit_all(
        self, goals: list[Goal], *, concurrency: int = 6, pace_s: float = 0.0
    ) -> None:
        """Submit `goals`, starting one every `pace_s` seconds, `concurrency` at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one(goal: Goal) -> None:
            async with gate:
                await self.submit(goal)

        pending: list[asyncio.Task[None]] = []
        for goal in goals:
            pending.append(asyncio.create_task(one(goal)))
            if pace_s:
                await asyncio.sleep(pace_s)
        await asyncio.gather(*pending)

    async def submit(self, goal: Goal) -> str:
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while True:
            try:
                run_id = await (self._publish(goal) if goal.over_nats else self._post(goal))
            except _Retry as retry:
                self._retry(retry.reason)
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"goal {goal.index} never accepted") from None
                await asyncio.sleep(0.3)
                continue
            self.accepted[goal.index] = run_id
            return run_id

    async def _post(self, goal: Goal) -> str:
        body = {"prompt": goal.prompt, "idempotency_key": goal.idempotency_key}
        headers = {"Authorization": f"Bearer {API_KEY}"}
        try:
            async with httpx.AsyncClient(base_url=self.gateway_url(), timeout=10) as client:
                response = await client.post("/v1/runs", json=body, headers=headers)
        except (httpx.HTTPError, KeyError) as exc:
            raise _Retry(f"http {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise _Retry(f"http {response.status_code}")
        assert response.status_code == 202, response.text
        run_id: str = response.json()["run_id"]
        return run_id

    async def _publish(self, goal: Goal) -> str:
        message = RunRequested(
            message_id=f"run:{goal.run_id}:requested",
            run_id=goal.run_id,
            tenant=TENANT,
            prompt=goal.prompt,
            idempotency_key=goal.idempotency_key,
        )
        try:
            await self.nats.jetstream().publish(
                subjects.RUNS_REQUESTED,
                message.model_dump_json().encode(),
                stream=subjects.STREAM_RUNS,
                headers={"Nats-Msg-Id": message.message_id},
                timeout=5,
            )
        except Exception as exc:  # any NATS failure: the message id makes a resend safe
            raise _Retry(f"nats {type(exc).__name__}") from exc
        return goal.run_id


async def record_crashed_executions(nats: Client, goals: list[Goal]) -> set[str]:
    """Record the effect of each goal's first own counter step before its run exists, as an
    execution that crashed after its effect and before its report would have left it; the
    real execution then repeats it. Returns the keys touched. Goals need known run ids."""
    store = NatsKvCounterStore(await nats.jetstream().key_value(subjects.KV_COUNTERS))
    keys: set[str] = set()
    for goal in goals:
        assert goal.run_id, "only goals published over NATS have their run id in advance"
        step_id, key = next((s, k) for s, k in goal.counts.items() if k != SHARED_KEY)
        await store.increment(TENANT, key, f"{goal.run_id}:{step_id}")
        keys.add(key)
    return keys


class _Retry(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
