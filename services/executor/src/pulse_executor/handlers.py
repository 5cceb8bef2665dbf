"""The executor's subscribers: typed messages in, the coordinator does the rest.

Each handler raises on failure: the dead-letter middleware redelivers with back-off, and
a redelivered message is recognised as a duplicate and re-publishes what it implies.
"""

from __future__ import annotations

from faststream.nats import JStream, NatsBroker

from pulse_broker import durable_pull
from pulse_contracts import (
    DispatchTask,
    PlanCreated,
    PlanRejected,
    RunEvent,
    TaskFinished,
    subjects,
)
from pulse_executor.config import Settings
from pulse_executor.coordinator import RunCoordinator
from pulse_telemetry import bind_run, current_trace_id, inject_headers

__all__ = ["declare_publishers", "register_handlers"]


def declare_publishers(broker: NatsBroker) -> None:
    """What the executor publishes, for the AsyncAPI document.

    Publishing itself goes through `pulse_broker.publish` (deterministic `Nats-Msg-Id`).
    """
    broker.publisher(
        subjects.dispatch_subject("{agent}"),
        stream=JStream(subjects.STREAM_TASKS, declare=False),
        schema=DispatchTask,
        title="executor.dispatch",
        description="Run one step: a ready step's input with every reference resolved.",
    )
    broker.publisher(
        subjects.run_events_subject("{run_id}"),
        stream=JStream(subjects.STREAM_EVENTS, declare=False),
        schema=RunEvent,
        title="executor.run_events",
        description="The run's lifecycle, numbered by `seq`: started, step dispatched/"
        "completed/failed, completed, failed, rejected.",
    )


def register_handlers(broker: NatsBroker, settings: Settings, coordinator: RunCoordinator) -> None:
    declare_publishers(broker)

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_RUNS,
            durable=subjects.Durable.EXECUTOR_PLANS,
            subject=subjects.PLANS_CREATED,
        )
    )
    async def plan_created(message: PlanCreated) -> None:
        bind_run(message.run_id, tenant=message.tenant)
        await coordinator.start(
            message, trace_id=current_trace_id(), trace_context=inject_headers()
        )

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_RUNS,
            durable=subjects.Durable.EXECUTOR_REJECTIONS,
            subject=subjects.PLANS_REJECTED,
        )
    )
    async def plan_rejected(message: PlanRejected) -> None:
        bind_run(message.run_id, tenant=message.tenant)
        await coordinator.reject(message)

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_TASKS,
            durable=subjects.Durable.EXECUTOR_RESULTS,
            subject=subjects.TASKS_RESULT,
        )
    )
    async def task_finished(message: TaskFinished) -> None:
        bind_run(message.run_id, message.step_id, message.tenant)
        await coordinator.record(message)
