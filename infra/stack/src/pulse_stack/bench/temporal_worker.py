"""The Temporal side of the comparison: the DAG as a workflow of activities, and its worker.

`DagWorkflow` runs any DAG given as data — every step starts as soon as the steps it
depends on have finished, each step one activity — so it runs the very `DIAMOND` that Pulse
runs, with the same inputs. The activities are `pulse_stack.bench.tools`.

The worker is a process of its own, as a deployed worker is (and as each Pulse service is):
`python -m pulse_stack.bench.temporal_worker --address HOST:PORT --task-queue Q
--llm-latency-ms MS` prints `ready` once it polls, and stops on SIGTERM. Its settings are
the SDK's defaults (sandboxed workflows, default pollers and slots), as Pulse's are its own.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from pulse_stack.bench.tools import run_tool

__all__ = [
    "WORKFLOW_NAME",
    "DagInput",
    "DagWorkflow",
    "StepCall",
    "StepInput",
    "StepResult",
    "ToolActivities",
    "main",
]

WORKFLOW_NAME: Final = "PulseBenchDag"
_ACTIVITY_TIMEOUT: Final = timedelta(seconds=60)


@dataclass
class StepInput:
    step_id: str
    text: str
    depends_on: list[str] = field(default_factory=list)


@dataclass
class DagInput:
    tool: str
    """The activity every step calls: `calculator` or `llm.complete`."""
    steps: list[StepInput]
    """In topological order."""


@dataclass
class StepCall:
    step_id: str
    text: str


@dataclass
class StepResult:
    step_id: str
    output: str
    started: float
    finished: float


@workflow.defn(name=WORKFLOW_NAME)
class DagWorkflow:
    @workflow.run
    async def run(self, dag: DagInput) -> list[StepResult]:
        started: dict[str, asyncio.Task[StepResult]] = {}

        async def step(spec: StepInput) -> StepResult:
            for dependency in spec.depends_on:
                await started[dependency]
            return await workflow.execute_activity(
                dag.tool,
                StepCall(spec.step_id, spec.text),
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                result_type=StepResult,
            )

        for spec in dag.steps:
            started[spec.step_id] = asyncio.create_task(step(spec))
        return [await started[spec.step_id] for spec in dag.steps]


class ToolActivities:
    """The two tools as activities; the simulated model latency is the worker's setting."""

    def __init__(self, llm_latency_s: float) -> None:
        self._llm_latency_s = llm_latency_s

    async def _call(self, tool: str, call: StepCall) -> StepResult:
        done = await run_tool(tool, call.text, llm_latency_s=self._llm_latency_s)
        return StepResult(call.step_id, done.output, done.started, done.finished)

    @activity.defn(name="calculator")
    async def calculator(self, call: StepCall) -> StepResult:
        return await self._call("calculator", call)

    @activity.defn(name="llm.complete")
    async def llm_complete(self, call: StepCall) -> StepResult:
        return await self._call("llm.complete", call)


async def _serve(address: str, task_queue: str, llm_latency_s: float) -> None:
    client = await Client.connect(address)
    tools = ToolActivities(llm_latency_s)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # This module is imported outside the sandbox once; the sandbox re-imports only the rest.
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("pulse_stack")
    )
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[DagWorkflow],
        activities=[tools.calculator, tools.llm_complete],
        workflow_runner=runner,
    ):
        print("ready", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pulse_stack.bench.temporal_worker")
    parser.add_argument("--address", required=True, help="the Temporal frontend, HOST:PORT")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--llm-latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.address, args.task_queue, args.llm_latency_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
