"""A timeline from the live run state, for a run the archive does not hold yet.

The live state keeps only each step's current attempt, so earlier attempts are missing;
the archive's events give the whole story once they are written.
"""

from __future__ import annotations

from typing import Final

from pulse_contracts import RunState, StepStatus
from pulse_gateway.domain.runs import ordered_steps
from pulse_gateway.domain.timeline import (
    AttemptStatus,
    AttemptTimeline,
    RunTimeline,
    StepTimeline,
)

__all__ = ["live_timeline"]

_ATTEMPT_STATUS: Final[dict[StepStatus, AttemptStatus]] = {
    StepStatus.DISPATCHED: "running",
    StepStatus.COMPLETED: "completed",
    StepStatus.FAILED: "failed",
    StepStatus.RETRYING: "retried",
    StepStatus.CANCELED: "canceled",
}


def live_timeline(state: RunState) -> RunTimeline:
    profiles = {s.id: s for s in state.plan.steps} if state.plan else {}
    steps: list[StepTimeline] = []
    for step in ordered_steps(state):
        spec = profiles.get(step.step_id)
        profile = spec.agent if spec else "default"
        status = _ATTEMPT_STATUS.get(step.status)
        attempts: tuple[AttemptTimeline, ...] = ()
        if status is not None and step.attempt > 0:
            attempts = (
                AttemptTimeline(
                    step_id=step.step_id,
                    tool=step.tool,
                    attempt=step.attempt,
                    agent=step.agent or profile,
                    restart=state.restarts,
                    status=status,
                    dispatched_at=step.dispatched_at,
                    started_at=step.started_at,
                    finished_at=step.finished_at,
                    usage=step.usage,
                    error=step.error,
                    retry_at=step.retry_at,
                ),
            )
        steps.append(
            StepTimeline(
                step_id=step.step_id,
                tool=step.tool,
                agent=profile,
                depends_on=tuple(spec.depends_on) if spec else (),
                status=step.status.value,
                attempts=attempts,
            )
        )
    return RunTimeline(
        run_id=state.run_id,
        tenant=state.tenant,
        status=state.status,
        prompt=state.prompt,
        planner=state.planner,
        trace_id=state.trace_id,
        created_at=state.created_at,
        finished_at=state.updated_at if state.status.is_terminal else None,
        usage=state.usage,
        error=state.error,
        restarts=(),
        steps=tuple(steps),
        source="live",
        live_restarts=state.restarts,
    )
