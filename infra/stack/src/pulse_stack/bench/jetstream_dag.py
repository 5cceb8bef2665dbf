"""The bus' limit for the DAG: the same runs with nothing but JetStream between the steps.

Each step costs what any JetStream orchestrator must pay at least: the task published to a
work-queue stream and pulled, acked by a worker that runs the tool and publishes the result,
which the coordinator pulls and acks before it publishes the next steps — two persisted hops
per step, with the settings of the raw baseline (`jetstream`): file storage, a duplicate
window with a `Nats-Msg-Id` on every publish, durable pull consumers with explicit acks.
Everything else Pulse does is left out: run state lives in the coordinator's memory (no KV
compare-and-set), there are no run events, no database, no validation beyond `json`.

Coordinator and worker are two connections in the benchmark's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from pulse_stack.bench.dag import (
    DIAMOND,
    TOOL_NAMES,
    DagRun,
    SystemName,
    ToolKind,
    ToolWindow,
    step_inputs,
)
from pulse_stack.bench.tools import run_tool

__all__ = ["DAG_STREAM", "JetStreamDag"]

DAG_STREAM: Final = "PULSE_BENCH_DAG"
_TASKS: Final = "pulse.bench.dag.tasks"
_RESULTS: Final = "pulse.bench.dag.results"
_FETCH_BATCH: Final = 64
_FETCH_WAIT_S: Final = 1.0
_DEPENDS: Final = {s.step_id: s.depends_on for s in DIAMOND}

_Handler = Callable[[Msg], Coroutine[Any, Any, None]]


@dataclass
class _RunState:
    tool: str
    inputs: dict[str, str]
    done: asyncio.Future[None]
    windows: dict[str, ToolWindow] = field(default_factory=dict)
    dispatched: set[str] = field(default_factory=set)


class JetStreamDag:
    """`await open()`, `await run(...)` as often as wanted, then `await close()`."""

    name: Final[SystemName] = "jetstream"
    runs_in_client: Final = True

    def __init__(self, nats_url: str, llm_latency_ms: int, nats_pid: int | None = None) -> None:
        self._url = nats_url
        self._latency_s = llm_latency_ms / 1000
        self._nats_pid = nats_pid
        self._coordinator: Client | None = None
        self._worker: Client | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._runs: dict[str, _RunState] = {}
        self.version = ""

    async def open(self) -> None:
        self._coordinator = await nats.connect(self._url, name="pulse-bench-dag-coordinator")
        self._worker = await nats.connect(self._url, name="pulse-bench-dag-worker")
        version = self._coordinator.connected_server_version
        self.version = f"nats-server {version.major}.{version.minor}.{version.patch}"
        js = self._coordinator.jetstream()
        await js.add_stream(
            StreamConfig(
                name=DAG_STREAM,
                subjects=[_TASKS, _RESULTS],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                duplicate_window=120.0,
            )
        )
        tasks = await self._pull(self._worker, _TASKS, "pulse-bench-dag-worker")
        results = await self._pull(self._coordinator, _RESULTS, "pulse-bench-dag-coordinator")
        self._loops = [
            asyncio.create_task(self._consume(tasks, self._on_task)),
            asyncio.create_task(self._consume(results, self._on_result)),
        ]

    async def close(self) -> None:
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, *self._handlers, return_exceptions=True)
        if self._coordinator is not None and self._coordinator.is_connected:
            with contextlib.suppress(NotFoundError):
                await self._coordinator.jetstream().delete_stream(DAG_STREAM)
        for client in (self._coordinator, self._worker):
            if client is not None:
                await client.close()

    def processes(self) -> dict[str, int]:
        return {"nats-server": self._nats_pid} if self._nats_pid is not None else {}

    @staticmethod
    async def _pull(
        client: Client, subject: str, durable: str
    ) -> JetStreamContext.PullSubscription:
        return await client.jetstream().pull_subscribe(
            subject,
            durable=durable,
            stream=DAG_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0),
        )

    async def _consume(self, sub: JetStreamContext.PullSubscription, handle: _Handler) -> None:
        while True:
            try:
                batch = await sub.fetch(_FETCH_BATCH, timeout=_FETCH_WAIT_S)
            except (TimeoutError, NatsTimeoutError):
                continue
            for msg in batch:
                task = asyncio.create_task(handle(msg))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)

    async def _publish(
        self, client: Client | None, subject: str, body: Mapping[str, str | float]
    ) -> None:
        assert client is not None
        await client.jetstream().publish(
            subject,
            json.dumps(body).encode(),
            headers={"Nats-Msg-Id": uuid.uuid4().hex},
            stream=DAG_STREAM,
        )

    async def _on_task(self, msg: Msg) -> None:
        task = json.loads(msg.data)
        done = await run_tool(task["tool"], task["text"], llm_latency_s=self._latency_s)
        result = {
            "run": task["run"],
            "step": task["step"],
            "started": done.started,
            "finished": done.finished,
        }
        await self._publish(self._worker, _RESULTS, result)
        await msg.ack()

    async def _on_result(self, msg: Msg) -> None:
        result = json.loads(msg.data)
        await msg.ack()
        state = self._runs.get(result["run"])
        if state is None:
            return  # a run given up on (timed out)
        step = result["step"]
        state.windows[step] = ToolWindow(
            step, _DEPENDS[step], result["started"], result["finished"]
        )
        await self._dispatch_ready(result["run"], state)

    async def _dispatch_ready(self, run_id: str, state: _RunState) -> None:
        if len(state.windows) == len(DIAMOND):
            if not state.done.done():
                state.done.set_result(None)
            return
        ready = [
            s.step_id
            for s in DIAMOND
            if s.step_id not in state.dispatched and all(d in state.windows for d in s.depends_on)
        ]
        state.dispatched.update(ready)
        for step in ready:
            task = {"run": run_id, "step": step, "tool": state.tool, "text": state.inputs[step]}
            await self._publish(self._coordinator, _TASKS, task)

    async def run(self, kind: ToolKind, tag: str, *, timeout_s: float) -> DagRun:
        run_id = uuid.uuid4().hex
        state = _RunState(
            TOOL_NAMES[kind], step_inputs(kind, tag), asyncio.get_running_loop().create_future()
        )
        self._runs[run_id] = state
        submitted = time.perf_counter()
        try:
            await self._dispatch_ready(run_id, state)
            await asyncio.wait_for(asyncio.shield(state.done), timeout=timeout_s)
        except Exception as exc:  # a failed run is a data point, not the end of the workload
            return DagRun(
                False, submitted, time.perf_counter(), error=f"{type(exc).__name__}: {exc}"
            )
        finally:
            del self._runs[run_id]
        ended = time.perf_counter()
        windows = tuple(state.windows[s.step_id] for s in DIAMOND)
        return DagRun(True, submitted, ended, windows)
