"""What the planner answers to a `RunRequested`: a `PlanCreated` or a `PlanRejected`."""

from __future__ import annotations

from pulse_contracts import PlanCreated, PlanningFailed, PlanRejected, RunRequested
from pulse_planner.domain.planner import Planner

__all__ = ["PlanOutcome", "plan_message_id", "plan_run"]

PlanOutcome = PlanCreated | PlanRejected


def plan_message_id(run_id: str) -> str:
    """One id for a run's plan, created or rejected, so a redelivered request never
    produces a second answer: JetStream drops the resend as a duplicate."""
    return f"run:{run_id}:plan"


def plan_run(planner: Planner, request: RunRequested, *, trace_id: str | None) -> PlanOutcome:
    """Plan the request's goal. Only `PlanningFailed` becomes a rejection; any other error
    propagates, so the message is redelivered and, if it keeps failing, dead-lettered."""
    common = {
        "message_id": plan_message_id(request.run_id),
        "run_id": request.run_id,
        "tenant": request.tenant,
        "trace_id": trace_id,
        "prompt": request.prompt,
    }
    try:
        plan = planner.plan(request.prompt)
    except PlanningFailed as exc:
        error = exc.to_info().model_copy(update={"run_id": request.run_id})
        return PlanRejected(**common, error=error)
    return PlanCreated(**common, plan=plan, planner=planner.name, deadline_s=request.deadline_s)
