"""The planner's one subscription: `RunRequested` in, `PlanCreated` or `PlanRejected` out."""

from __future__ import annotations

import logging
import time

from faststream.nats import NatsBroker

from pulse_broker import durable_pull, publish
from pulse_contracts import PlanCreated, PlanRejected, RunRequested, subjects
from pulse_planner.metrics import PlanLatencyLabel, PlannerMetrics
from pulse_planner.pipeline import Details, GoalPlanner, PlannerMode, answer_request
from pulse_settings import ServiceSettings
from pulse_telemetry import bind_run, current_trace_id

__all__ = ["register_handlers"]

log = logging.getLogger(__name__)


def register_handlers(
    broker: NatsBroker,
    settings: ServiceSettings,
    planner: GoalPlanner,
    metrics: PlannerMetrics,
) -> None:
    """Subscribe the planner to run requests on a durable pull consumer replicas share."""
    # Declared for the AsyncAPI document only; messages go out through `pulse_broker.publish`
    # so they carry `Nats-Msg-Id` and wait for the stream's ack.
    broker.publisher(
        subjects.PLANS_CREATED,
        schema=PlanCreated,
        include_in_schema=True,
        title="planner: PlanCreated",
        description="The goal was planned; the executor runs the plan.",
    )
    broker.publisher(
        subjects.PLANS_REJECTED,
        schema=PlanRejected,
        include_in_schema=True,
        title="planner: PlanRejected",
        description="The goal could not be planned; the run ends rejected.",
    )

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_RUNS,
            durable=subjects.Durable.PLANNER,
            subject=subjects.RUNS_REQUESTED,
        ),
        title="planner: RunRequested",
        description="Plans every requested run, once.",
    )
    async def plan_requested_run(request: RunRequested) -> None:
        received = time.perf_counter()
        bind_run(request.run_id, tenant=request.tenant)
        outcome, details = await answer_request(
            planner, request, trace_id=current_trace_id() or request.trace_id
        )
        if isinstance(outcome, PlanCreated):
            subject, answered_by = subjects.PLANS_CREATED, outcome.planner
        else:
            # In `auto` mode a goal is rejected only once the rules failed it too.
            subject, answered_by = subjects.PLANS_REJECTED, _rules_if_auto(planner.name)
        ack = await publish(broker, outcome, subject, stream=subjects.STREAM_RUNS)
        seconds = time.perf_counter() - received
        fields: dict[str, object] = {
            "planner": answered_by,
            "duration_ms": round(seconds * 1000, 3),
            "duplicate": bool(ack.duplicate),
        }
        if isinstance(outcome, PlanCreated):
            steps = outcome.plan.steps
            fields |= {"steps": len(steps), "tools": sorted({step.tool for step in steps})}
            log.info("plan created", extra=fields | details)
        else:
            error = outcome.error
            fields["error"] = {
                "code": error.code.value,
                "message": error.message,
                "retryable": error.retryable,
            }
            log.info("plan rejected", extra=fields)
        # A resend JetStream dropped as a duplicate was counted when it was first published.
        if not ack.duplicate:
            rejected = isinstance(outcome, PlanRejected)
            metrics.runs_planned.labels("rejected" if rejected else "created", answered_by).inc()
            metrics.planned(_latency_label(answered_by, details), rejected, seconds)


def _rules_if_auto(name: str) -> str:
    return "rule-based" if name == PlannerMode.AUTO.value else name


def _latency_label(planner: str, details: Details) -> PlanLatencyLabel:
    if "cache" in details:
        return "cache"
    return "llm" if planner == "llm" else "rule-based"
