"""Builders for plans and messages, shared by the executor's tests as fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import nats
import pytest
from nats.aio.client import Client

from pulse_contracts import (
    CancelRun,
    ErrorCode,
    ErrorInfo,
    JsonValue,
    Plan,
    PlanCreated,
    PlanRejected,
    PlanStep,
    RestartRun,
    TaskFinished,
    Usage,
    control_message_id,
    task_message_id,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class Messages:
    """Plans and bus messages with sensible defaults; `now(i)` is a fixed clock."""

    run_id: str = "run-1"
    tenant: str = "acme"

    def now(self, tick: int = 0) -> datetime:
        return T0 + timedelta(seconds=tick)

    def plan(self, *steps: dict[str, JsonValue]) -> Plan:
        return Plan(steps=[PlanStep.model_validate({"tool": "echo", **s}) for s in steps])

    def plan_created(
        self, plan: Plan, run_id: str | None = None, deadline_s: float | None = None
    ) -> PlanCreated:
        run_id = run_id or self.run_id
        return PlanCreated(
            deadline_s=deadline_s,
            message_id=f"{run_id}:plan",
            run_id=run_id,
            tenant=self.tenant,
            prompt="do the thing",
            plan=plan,
            planner="rule-based",
        )

    def cancel(self, seen_seq: int = 0, run_id: str | None = None) -> CancelRun:
        run_id = run_id or self.run_id
        return CancelRun(
            message_id=control_message_id(run_id, "cancel", seen_seq),
            run_id=run_id,
            tenant=self.tenant,
            reason="no longer needed",
        )

    def restart(self, seen_seq: int | None = None, run_id: str | None = None) -> RestartRun:
        run_id = run_id or self.run_id
        return RestartRun(
            message_id=control_message_id(run_id, "restart", seen_seq or 0),
            run_id=run_id,
            tenant=self.tenant,
            if_seq=seen_seq,
        )

    def plan_rejected(self, run_id: str | None = None) -> PlanRejected:
        run_id = run_id or self.run_id
        return PlanRejected(
            message_id=f"{run_id}:rejected",
            run_id=run_id,
            tenant=self.tenant,
            prompt="do the impossible",
            error=ErrorInfo(code=ErrorCode.PLANNING_FAILED, message="no tool can do that"),
        )

    def finished(
        self,
        step_id: str,
        output: JsonValue = None,
        *,
        attempt: int = 1,
        error: str | None = None,
        run_id: str | None = None,
        tokens: int = 0,
        retryable: bool = False,
    ) -> TaskFinished:
        run_id = run_id or self.run_id
        return TaskFinished(
            message_id=task_message_id(run_id, step_id, attempt, "result"),
            run_id=run_id,
            tenant=self.tenant,
            step_id=step_id,
            attempt=attempt,
            tool="echo",
            outcome="failed" if error else "succeeded",
            output=output,
            error=ErrorInfo(code=ErrorCode.TOOL_FAILED, message=error, retryable=retryable)
            if error
            else None,
            usage=Usage(prompt_tokens=tokens, completion_tokens=tokens, cost_usd=tokens / 1000),
            started_at=self.now(1),
            finished_at=self.now(2),
        )


@pytest.fixture
def msgs() -> Messages:
    return Messages()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    """A plain NATS connection to the test's server, for fake agents and inspection."""
    client = await nats.connect(nats_url)
    yield client
    await client.close()
