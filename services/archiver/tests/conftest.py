"""Run events as the executor publishes them, for the archiver's tests.

Real NATS and PostgreSQL come from the `pulse_stack.testing` plugin (`nats_url`,
`database_url`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    JsonValue,
    Plan,
    PlanStep,
    RunCompleted,
    RunEvent,
    RunStarted,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    Usage,
    event_message_id,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"

RunFactory = Callable[..., list[RunEvent]]


def _run(
    run_id: str = "run-1",
    tenant: str = "acme",
    *,
    steps: int = 3,
    retry: bool = True,
    start: datetime = T0,
    trace_id: str | None = TRACE_ID,
) -> list[RunEvent]:
    """A finished run: `steps` calculator steps, the last one adding up all the others.

    With `retry`, step s1's first attempt fails and its second attempt succeeds. Each event
    has the next `seq`, exactly as the executor numbers them.
    """
    seq = 0
    clock = start
    events: list[RunEvent] = []
    scope = {"run_id": run_id, "tenant": tenant, "trace_id": trace_id}

    def next_seq() -> tuple[int, datetime]:
        nonlocal seq, clock
        seq += 1
        clock += timedelta(milliseconds=250)
        return seq - 1, clock

    workers = [f"s{i}" for i in range(1, steps)]
    plan = Plan(
        steps=[
            *(
                PlanStep(id=s, tool="calculator", input={"expression": f"{i} * 3"})
                for i, s in enumerate(workers, 1)
            ),
            PlanStep(
                id=f"s{steps}",
                tool="calculator",
                input={
                    "expression": " + ".join(f"{{{{steps.{s}.output}}}}" for s in workers) or "0"
                },
            ),
        ]
    )
    n, at = next_seq()
    events.append(
        RunStarted(
            message_id=event_message_id(run_id, "run.started"),
            occurred_at=at,
            seq=n,
            prompt=f"add up {steps - 1} products",
            plan=plan,
            planner="rule-based",
            **scope,
        )
    )

    def attempt(
        step: PlanStep, number: int, fed: dict[str, JsonValue], ok: bool, output: JsonValue
    ) -> None:
        n, at = next_seq()
        events.append(
            StepDispatched(
                message_id=event_message_id(run_id, "step.dispatched", step.id, number),
                occurred_at=at,
                seq=n,
                step_id=step.id,
                attempt=number,
                tool=step.tool,
                input=fed,
                **scope,
            )
        )
        n, at = next_seq()
        started = at - timedelta(milliseconds=200)
        if ok:
            events.append(
                StepCompleted(
                    message_id=event_message_id(run_id, "step.completed", step.id, number),
                    occurred_at=at,
                    seq=n,
                    step_id=step.id,
                    attempt=number,
                    tool=step.tool,
                    output=output,
                    usage=Usage(prompt_tokens=10, completion_tokens=5, cost_usd=0.00015),
                    started_at=started,
                    finished_at=at,
                    **scope,
                )
            )
        else:
            events.append(
                StepFailedEvent(
                    message_id=event_message_id(run_id, "step.failed", step.id, number),
                    occurred_at=at,
                    seq=n,
                    step_id=step.id,
                    attempt=number,
                    tool=step.tool,
                    error=ErrorInfo(
                        code=ErrorCode.TOOL_FAILED,
                        message="calculator timed out",
                        run_id=run_id,
                        step_id=step.id,
                        retryable=True,
                    ),
                    started_at=started,
                    finished_at=at,
                    **scope,
                )
            )

    outputs: dict[str, int] = {}
    for i, step in enumerate(plan.steps[:-1], 1):
        if retry and step.id == "s1":
            attempt(step, 1, dict(step.input), False, None)
            attempt(step, 2, dict(step.input), True, i * 3)
        else:
            attempt(step, 1, dict(step.input), True, i * 3)
        outputs[step.id] = i * 3
    sink = plan.steps[-1]
    total = sum(outputs.values())
    resolved: dict[str, JsonValue] = {
        "expression": " + ".join(str(v) for v in outputs.values()) or "0"
    }
    attempt(sink, 1, resolved, True, total)
    n, at = next_seq()
    events.append(
        RunCompleted(
            message_id=event_message_id(run_id, "run.completed"),
            occurred_at=at,
            seq=n,
            result={sink.id: total},
            usage=Usage(
                prompt_tokens=10 * steps,
                completion_tokens=5 * steps,
                cost_usd=round(0.00015 * steps, 10),
            ),
            **scope,
        )
    )
    return events


@pytest.fixture
def make_run() -> RunFactory:
    """`make_run(run_id=..., tenant=..., steps=3, retry=True, start=T0)` -> the run's events."""
    return _run


@pytest.fixture
def run_events(make_run: RunFactory) -> list[RunEvent]:
    return make_run()
