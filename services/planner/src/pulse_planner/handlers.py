"""The planner's one subscription: `RunRequested` in, `PlanCreated` or `PlanRejected` out."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from prometheus_client import CollectorRegistry, Counter

from pulse_broker import durable_pull, publish
from pulse_contracts import PlanCreated, PlanRejected, RunRequested, subjects
from pulse_planner.pipeline import GoalPlanner, answer_request
from pulse_settings import ServiceSettings
from pulse_telemetry import bind_run, current_trace_id

__all__ = ["register_handlers"]

log = logging.getLogger(__name__)


def register_handlers(
    broker: NatsBroker,
    settings: ServiceSettings,
    planner: GoalPlanner,
    registry: CollectorRegistry,
) -> None:
    """Subscribe the planner to run requests on a durable pull consumer replicas share."""
    outcomes = Counter(
        "pulse_planner_runs_planned",
        "Plans published, by outcome; resends dropped by JetStream as duplicates are not counted.",
        ["outcome", "planner"],
        registry=registry,
    )
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
        bind_run(request.run_id, tenant=request.tenant)
        outcome, details = await answer_request(
            planner, request, trace_id=current_trace_id() or request.trace_id
        )
        if isinstance(outcome, PlanCreated):
            ack = await publish(
                broker, outcome, subjects.PLANS_CREATED, stream=subjects.STREAM_RUNS
            )
            log.info(
                "plan created",
                extra={
                    "planner": outcome.planner,
                    "steps": len(outcome.plan.steps),
                    "tools": sorted({step.tool for step in outcome.plan.steps}),
                    "duplicate": bool(ack.duplicate),
                    **details,
                },
            )
            if not ack.duplicate:
                outcomes.labels("created", outcome.planner).inc()
        else:
            ack = await publish(
                broker, outcome, subjects.PLANS_REJECTED, stream=subjects.STREAM_RUNS
            )
            log.info(
                "plan rejected",
                extra={"reason": outcome.error.message, "duplicate": bool(ack.duplicate)},
            )
            if not ack.duplicate:
                outcomes.labels("rejected", planner.name).inc()
