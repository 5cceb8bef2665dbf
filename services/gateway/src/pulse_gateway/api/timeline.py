"""`GET /v1/runs/{id}/timeline`: the shape of a run's timeline (what `pulse trace` draws)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from pulse_gateway.api.models import ErrorView, UsageView
from pulse_gateway.domain import AttemptStatus, AttemptTimeline, RestartMark, RunTimeline
from pulse_gateway.domain import StepTimeline as StepTimelineData

__all__ = ["AttemptView", "RestartView", "StepTimelineView", "TimelineView"]


class AttemptView(BaseModel):
    step_id: str
    tool: str
    attempt: int
    agent: str | None = Field(
        description="Who ran it: `provider/model` for a step that called an LLM, else the "
        "agent profile."
    )
    restart: int = Field(description="Restarts of the run before this attempt (0: none).")
    status: AttemptStatus = Field(
        description="`retried`: failed, and a next attempt was scheduled at `retry_at`. "
        "`unknown`: the run ended and no outcome of this attempt was recorded."
    )
    dispatched_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    queue_wait_ms: float | None = Field(description="From dispatch until its agent started it.")
    duration_ms: float | None = Field(description="From start to finish: the agent's work.")
    usage: UsageView
    error: ErrorView | None
    retry_at: datetime | None

    @classmethod
    def of(cls, attempt: AttemptTimeline) -> AttemptView:
        return cls(
            step_id=attempt.step_id,
            tool=attempt.tool,
            attempt=attempt.attempt,
            agent=attempt.agent,
            restart=attempt.restart,
            status=attempt.status,
            dispatched_at=attempt.dispatched_at,
            started_at=attempt.started_at,
            finished_at=attempt.finished_at,
            queue_wait_ms=attempt.queue_wait_ms,
            duration_ms=attempt.duration_ms,
            usage=UsageView.of(attempt.usage),
            error=ErrorView.of(attempt.error),
            retry_at=attempt.retry_at,
        )


class StepTimelineView(BaseModel):
    step_id: str
    tool: str
    agent: str = Field(description="The agent profile the plan named.")
    depends_on: list[str]
    status: str = Field(
        description="Its last attempt's status; `pending` or `skipped` when it never ran."
    )
    attempts: list[AttemptView]

    @classmethod
    def of(cls, step: StepTimelineData) -> StepTimelineView:
        return cls(
            step_id=step.step_id,
            tool=step.tool,
            agent=step.agent,
            depends_on=list(step.depends_on),
            status=step.status,
            attempts=[AttemptView.of(a) for a in step.attempts],
        )


class RestartView(BaseModel):
    restarts: int
    at: datetime
    reason: str
    steps: list[str] = Field(description="The steps run again.")

    @classmethod
    def of(cls, mark: RestartMark) -> RestartView:
        return cls(restarts=mark.restarts, at=mark.at, reason=mark.reason, steps=list(mark.steps))


class TimelineView(BaseModel):
    run_id: str
    status: str
    prompt: str
    planner: str | None
    trace_id: str | None = Field(description="Paste into Jaeger or Tempo to see the run's spans.")
    created_at: datetime = Field(description="The run's first recorded moment: time zero.")
    finished_at: datetime | None
    duration_ms: float | None
    usage: UsageView
    error: ErrorView | None
    restarts: int
    restart_history: list[RestartView]
    steps: list[StepTimelineView] = Field(description="In plan order, each with its attempts.")
    source: Literal["archive", "live"] = Field(
        description="`archive`: built from every archived event. `live`: the archive does "
        "not hold the run yet; only each step's latest attempt is known."
    )

    @classmethod
    def of(cls, timeline: RunTimeline) -> TimelineView:
        return cls(
            run_id=timeline.run_id,
            status=timeline.status.value,
            prompt=timeline.prompt,
            planner=timeline.planner,
            trace_id=timeline.trace_id,
            created_at=timeline.created_at,
            finished_at=timeline.finished_at,
            duration_ms=timeline.duration_ms,
            usage=UsageView.of(timeline.usage),
            error=ErrorView.of(timeline.error),
            restarts=timeline.restart_count,
            restart_history=[RestartView.of(m) for m in timeline.restarts],
            steps=[StepTimelineView.of(s) for s in timeline.steps],
            source=timeline.source,
        )
