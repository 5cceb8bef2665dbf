"""Pulse as one of the compared systems: the DAG as a goal, through the gateway like any client.

A run's goal is `pulse_goal`; the rule-based planner must make `DIAMOND` of it with the
expected tool, or the workload is refused (`BenchError`) rather than measured on another
shape. Tool windows come from `StepCompleted` (the agent-adapter's `started_at` and
`finished_at`), the end from the run's final event as the client saw it.
"""

from __future__ import annotations

import time
from typing import Final

import httpx

from pulse_client import PulseApiError
from pulse_contracts.events import RunStarted
from pulse_stack.bench.dag import (
    DIAMOND,
    DagRun,
    SystemName,
    ToolKind,
    ToolWindow,
    plan_matches,
    pulse_goal,
)
from pulse_stack.bench.runs import RunDriver, RunRecord
from pulse_stack.bench.timings import IncompleteRunError, run_timing
from pulse_stack.bench.workloads import BenchError
from pulse_stack.launcher import Stack

__all__ = ["PulseDag"]

_RUN_ERRORS = (TimeoutError, PulseApiError, httpx.HTTPError)


def _check_plan(record: RunRecord, kind: ToolKind) -> None:
    started = next((e for e in record.events if isinstance(e, RunStarted)), None)
    if started is None:
        return  # a run that never started is an error of that run, not of the shape
    plan = [(s.id, s.tool, s.depends_on) for s in started.plan.steps]
    if not plan_matches(plan, kind):
        raise BenchError(
            f"the planner made {[(sid, deps) for sid, _, deps in plan]} of {record.goal!r}; "
            f"expected {[(s.step_id, list(s.depends_on)) for s in DIAMOND]}"
        )


class PulseDag:
    """The embedded stack's Pulse, driven through `RunDriver` (opened by the caller)."""

    name: Final[SystemName] = "pulse"
    runs_in_client: Final = False

    def __init__(self, stack: Stack, driver: RunDriver, version: str) -> None:
        self._stack = stack
        self._driver = driver
        self.version = version

    def processes(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for service in self._stack.running:
            if service.proc.pid is not None:
                suffix = f"-{service.replica}" if service.replica else ""
                found[f"{service.spec.name}{suffix}"] = service.proc.pid
        for name, server in (("nats-server", self._stack.nats), ("postgres", self._stack.postgres)):
            if server is not None and server.proc.pid is not None:
                found[name] = server.proc.pid
        return found

    def service_pids(self) -> dict[str, int]:
        """The Python services only: what py-spy can sample."""
        return {k: v for k, v in self.processes().items() if k not in {"nats-server", "postgres"}}

    async def run(self, kind: ToolKind, tag: str, *, timeout_s: float) -> DagRun:
        submitted = time.perf_counter()
        try:
            record = await self._driver.run(pulse_goal(kind, tag), timeout_s=timeout_s)
        except _RUN_ERRORS as exc:  # a failed run is a data point, not the end of the workload
            return DagRun(
                False, submitted, time.perf_counter(), error=f"{type(exc).__name__}: {exc}"
            )
        _check_plan(record, kind)
        if record.status != "completed":
            return DagRun(False, record.submitted_s, record.ended_s, error=f"run {record.status}")
        try:
            timing = run_timing(record.events)
        except IncompleteRunError as exc:
            return DagRun(False, record.submitted_s, record.ended_s, error=f"events missing: {exc}")
        windows = tuple(
            ToolWindow(
                step.step_id,
                step.depends_on,
                step.started_at.timestamp(),
                step.finished_at.timestamp(),
            )
            for step in timing.steps.values()
        )
        return DagRun(True, record.submitted_s, record.ended_s, windows)
