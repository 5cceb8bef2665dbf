"""Driving runs for a benchmark: submit goals over HTTP, follow their events on NATS.

Goals go through the gateway like any client's. The run events every run publishes on
`pulse.runs.events.<run_id>` give both the moment a run ended (seen here) and the
services' own timestamps (see `timings`). Events may arrive before the gateway's answer
names the run, so they are kept by run id from the start.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError

from pulse_broker import server_caught_up
from pulse_client import PulseClient
from pulse_contracts import RUN_EVENT_ADAPTER, subjects
from pulse_contracts.events import RunEvent
from pulse_stack.bench.timings import TERMINAL_EVENT_TYPES, is_settled

__all__ = ["RunDriver", "RunRecord"]

_SETTLE_S = 5.0
"""How long to wait after the terminal event for the run's other events to trail in."""


@dataclass
class RunRecord:
    run_id: str
    goal: str
    submitted_s: float
    """perf_counter() just before the POST."""
    ended_s: float
    """perf_counter() when the run's terminal event arrived here."""
    events: list[RunEvent] = field(default_factory=list)
    settled: bool = True
    """False when some of its events never arrived (its timings are then unusable)."""

    @property
    def status(self) -> str:
        terminal = [e.type for e in self.events if e.type in TERMINAL_EVENT_TYPES]
        return terminal[-1].removeprefix("run.") if terminal else "unknown"

    @property
    def end_to_end_s(self) -> float:
        """From the client's POST to the client seeing the run's final event."""
        return self.ended_s - self.submitted_s


class RunDriver:
    """`async with RunDriver(gateway_url, api_key, nats_url) as driver: await driver.run(goal)`."""

    def __init__(self, gateway_url: str, api_key: str, nats_url: str) -> None:
        self._client = PulseClient(gateway_url, api_key, timeout_s=60.0)
        self._nats_url = nats_url
        self._nc: Client | None = None
        self._events: defaultdict[str, list[RunEvent]] = defaultdict(list)
        self._ended: dict[str, asyncio.Future[float]] = {}
        self.undecodable = 0

    async def __aenter__(self) -> RunDriver:
        self._nc = await nats.connect(self._nats_url, name="pulse-bench-runs")
        await self._nc.subscribe(subjects.RUN_EVENTS_WILDCARD, cb=self._on_event)
        await server_caught_up(self._nc)  # no run starts before we listen
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()
        if self._nc is not None:
            await self._nc.close()

    def _ended_future(self, run_id: str) -> asyncio.Future[float]:
        if run_id not in self._ended:
            self._ended[run_id] = asyncio.get_running_loop().create_future()
        return self._ended[run_id]

    async def _on_event(self, msg: Msg) -> None:
        arrived = time.perf_counter()
        try:
            event = RUN_EVENT_ADAPTER.validate_json(msg.data)
        except ValidationError:
            self.undecodable += 1  # e.g. an event type newer than these contracts
            return
        self._events[event.run_id].append(event)
        if event.type in TERMINAL_EVENT_TYPES:
            ended = self._ended_future(event.run_id)
            if not ended.done():
                ended.set_result(arrived)

    async def run(self, goal: str, *, timeout_s: float) -> RunRecord:
        """Submit one goal and wait for it to end; its events are in the record."""
        submitted = time.perf_counter()
        created = await self._client.create_run(goal)
        run_id = str(created["run_id"])
        try:
            ended = await asyncio.wait_for(
                asyncio.shield(self._ended_future(run_id)), timeout=timeout_s
            )
        except TimeoutError:
            raise TimeoutError(f"run {run_id} did not end within {timeout_s}s: {goal}") from None
        settled = await self._settle(run_id)
        record = RunRecord(run_id, goal, submitted, ended, list(self._events.pop(run_id)), settled)
        del self._ended[run_id]
        return record

    async def _settle(self, run_id: str) -> bool:
        deadline = time.monotonic() + _SETTLE_S
        while not is_settled(self._events[run_id]):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def run_all(
        self, goals: Sequence[str], *, concurrency: int, timeout_s: float
    ) -> list[RunRecord]:
        """Every goal, at most `concurrency` in flight; records in the goals' order."""
        gate = asyncio.Semaphore(concurrency)

        async def one(goal: str) -> RunRecord:
            async with gate:
                return await self.run(goal, timeout_s=timeout_s)

        return list(await asyncio.gather(*(one(goal) for goal in goals)))
