"""Builders for plans and messages, shared by the executor's tests as fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    JsonValue,
    Plan,
    PlanCreated,
    PlanRejected,
    PlanStep,
    TaskFinished,
    Usage,
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

    def plan_created(self, plan: Plan, run_id: str | None = None) -> PlanCreated:
        run_id = run_id or self.run_id
        return PlanCreated(
            message_id=f"{run_id}:plan",
            run_id=run_id,
            tenant=self.tenant,
            prompt="do the thing",
            plan=plan,
            planner="rule-based",
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
            error=ErrorInfo(code=ErrorCode.TOOL_FAILED, message=error) if error else None,
            usage=Usage(prompt_tokens=tokens, completion_tokens=tokens, cost_usd=tokens / 1000),
            started_at=self.now(1),
            finished_at=self.now(2),
        )


@pytest.fixture
def msgs() -> Messages:
    return Messages()
