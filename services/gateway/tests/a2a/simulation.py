"""A simulated planner and executor for A2A tests without servers: they move runs in the
in-memory store and publish their events as the real ones do (state first, then the
event)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final

import httpx
from a2a.client import Client
from fastapi import FastAPI

from pulse_contracts import (
    CancelRun,
    ErrorCode,
    ErrorInfo,
    Plan,
    PlanStep,
    RunCanceled,
    RunCompleted,
    RunEvent,
    RunRejected,
    RunStarted,
    RunState,
    RunStatus,
    StepCompleted,
    StepDispatched,
    StepState,
    StepStatus,
    utcnow,
)
from pulse_gateway.adapters import (
    InMemoryRunControlPublisher,
    InMemoryRunEvents,
    InMemoryRunStore,
)
from pulse_gateway.wiring import Backends

BASE_URL: Final = "http://gateway.test"
KEY_A: Final = "a2a-key-a"
KEY_B: Final = "a2a-key-b"

PLAN: Final = Plan(
    steps=[
        PlanStep(id="calc", tool="calculator", input={"expression": "5 * 3"}),
        PlanStep(id="say", tool="llm.complete", input={"prompt": "{{steps.calc.output}}"}),
    ]
)
OUTPUTS: Final = {"calc": 15, "say": "Fifteen."}


class SimulatedPulse:
    """Plays planner and executor: every submitted run is planned (PLAN) and, unless its
    goal starts with "hold", completed; "refuse ..." is rejected. `cancel` cancels a run
    that has not ended; held runs finish when `finish` is called. Where run state lives
    and where events go is up to `load`, `save` and `publish`."""

    def __init__(
        self,
        load: Callable[[str], Awaitable[RunState]],
        save: Callable[[RunState], Awaitable[None]],
        publish: Callable[[RunEvent], Awaitable[None]],
    ) -> None:
        self._load, self._save, self._publish = load, save, publish

    async def _commit(self, state: RunState, event: RunEvent) -> None:
        # As the executor does: the state first, then the event.
        state.updated_at = event.occurred_at
        await self._save(state.model_copy(deep=True))
        await self._publish(event)

    async def _state(self, run_id: str) -> RunState:
        return (await self._load(run_id)).model_copy(deep=True)

    def _base(self, state: RunState, kind: str) -> dict[str, object]:
        state.seq += 1
        return {
            "message_id": f"{state.run_id}:{kind}:{state.seq}",
            "run_id": state.run_id,
            "tenant": state.tenant,
            "seq": state.seq,
        }

    async def start(self, run_id: str) -> None:
        state = await self._state(run_id)
        if state.prompt.startswith("refuse"):
            state.status = RunStatus.REJECTED
            state.error = ErrorInfo(code=ErrorCode.PLANNING_FAILED, message="not a goal I know")
            await self._commit(
                state,
                RunRejected(
                    **self._base(state, "rejected"), prompt=state.prompt, error=state.error
                ),
            )
            return
        state.status, state.plan, state.planner = RunStatus.WORKING, PLAN, "simulated"
        await self._commit(
            state,
            RunStarted(
                **self._base(state, "started"), prompt=state.prompt, plan=PLAN, planner="simulated"
            ),
        )
        state.steps["calc"] = StepState(
            step_id="calc", tool="calculator", status=StepStatus.DISPATCHED, attempt=1
        )
        await self._commit(
            state,
            StepDispatched(
                **self._base(state, "dispatched"),
                step_id="calc",
                attempt=1,
                tool="calculator",
                input={"expression": "5 * 3"},
            ),
        )
        if not state.prompt.startswith("hold"):
            await self.finish(run_id)

    async def finish(self, run_id: str) -> None:
        state = await self._state(run_id)
        for step in PLAN.steps:
            now = utcnow()
            state.steps[step.id] = StepState(
                step_id=step.id,
                tool=step.tool,
                status=StepStatus.COMPLETED,
                attempt=1,
                output=OUTPUTS[step.id],
                started_at=now,
                finished_at=now,
            )
            await self._commit(
                state,
                StepCompleted(
                    **self._base(state, f"completed-{step.id}"),
                    step_id=step.id,
                    attempt=1,
                    tool=step.tool,
                    output=OUTPUTS[step.id],
                    started_at=now,
                    finished_at=now,
                ),
            )
        state.status, state.result = RunStatus.COMPLETED, OUTPUTS["say"]
        await self._commit(
            state, RunCompleted(**self._base(state, "completed"), result=state.result)
        )

    async def cancel(self, run_id: str) -> None:
        state = await self._state(run_id)
        if state.status.is_terminal:
            return
        state.status = RunStatus.CANCELED
        state.error = ErrorInfo(code=ErrorCode.CANCELED, message="canceled on request")
        await self._commit(state, RunCanceled(**self._base(state, "canceled"), error=state.error))


class InMemoryPulse(SimulatedPulse):
    """The simulation over the in-memory store, event source and control publisher."""

    def __init__(
        self,
        store: InMemoryRunStore,
        events: InMemoryRunEvents,
        control: InMemoryRunControlPublisher,
    ) -> None:
        async def load(run_id: str) -> RunState:
            return store.runs[run_id]

        async def save(state: RunState) -> None:
            store.runs[state.run_id] = state

        super().__init__(load, save, events.publish)
        self.store = store
        self.control = control
        self._seen: set[str] = set()
        self._canceled: set[str] = set()

    async def drive(self) -> None:
        while True:
            for run_id, state in list(self.store.runs.items()):
                if run_id not in self._seen and state.status is RunStatus.SUBMITTED:
                    self._seen.add(run_id)
                    await self.start(run_id)
            for command in list(self.control.published):
                if isinstance(command, CancelRun) and command.message_id not in self._canceled:
                    self._canceled.add(command.message_id)
                    await self.cancel(command.run_id)
            await asyncio.sleep(0.005)


def run_of(backends: Backends, run_id: str) -> RunState:
    assert isinstance(backends.store, InMemoryRunStore)
    return backends.store.runs[run_id]


async def wait_until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def stamp() -> datetime:
    return utcnow()


def http_client(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers, timeout=20)


ClientFor = Callable[..., Awaitable[Client]]
