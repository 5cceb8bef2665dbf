"""The executor's subscribers: typed messages in, the coordinator does the rest.

Each handler raises on failure: the dead-letter middleware redelivers with back-off, and
a redelivered message is recognised as a duplicate and re-publishes what it implies.
"""

from __future__ import annotations

from faststream.nats import JStream, NatsBroker

from pulse_broker import durable_pull
from pulse_contracts import (
    CancelRun,
    CancelTask,
    DispatchTask,
    PlanCreated,
    PlanRejected,
    RestartRun,
    RunEvent,
    TaskFinished,
    TimerDue,
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
        "completed/failed/canceled, completed, failed, canceled, restarted, rejected.",
    )
    broker.publisher(
        f"{subjects.TIMERS_SCHEDULE_PREFIX}.{{run_id}}.{{step_id}}.{{attempt}}.{{kind}}",
        stream=JStream(subjects.STREAM_TIMERS, declare=False),
        schema=TimerDue,
        title="executor.timers",
        description="Timers scheduled with `Nats-Schedule: @at <due_at>` and "
        "`Nats-Schedule-Target: pulse.timers.fired.<kind>`: step timeouts, retries, deadlines.",
    )
    broker.publisher(
        subjects.task_cancel_subject("{run_id}"),
        schema=CancelTask,
        title="executor.cancel_task",
        description="Core NATS broadcast to every agent-adapter: stop this attempt.",
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

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_TIMERS,
            durable=subjects.Durable.EXECUTOR_TIMERS,
            subject=subjects.TIMERS_FIRED_WILDCARD,
        )
    )
    async def timer_due(timer: TimerDue) -> None:
        bind_run(timer.run_id, getattr(timer, "step_id", None), timer.tenant)
        await coordinator.fire(timer)

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_RUNS,
            durable=subjects.Durable.EXECUTOR_CANCEL,
            subject=subjects.RUNS_CANCEL,
        )
    )
    async def cancel_run(message: CancelRun) -> None:
        bind_run(message.run_id, tenant=message.tenant)
        await coordinator.cancel(message)

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_RUNS,
            durable=subjects.Durable.EXECUTOR_RESTART,
            subject=subjects.RUNS_RESTART,
        )
    )
    async def restart_run(message: RestartRun) -> None:
        bind_run(message.run_id, tenant=message.tenant)
        await coordinator.restart(message)
