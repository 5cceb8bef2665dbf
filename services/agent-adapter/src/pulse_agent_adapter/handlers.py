"""The agent-adapter on the bus: take a `DispatchTask`, run its tool, publish `TaskFinished`."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from faststream.nats.message import NatsMessage
from opentelemetry.trace import Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue
from prometheus_client import CollectorRegistry, Histogram

from pulse_agent_adapter.blobs import LargeValues
from pulse_agent_adapter.cancellation import RunningTasks, register_cancel_listener, task_key
from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain import ToolRegistry, execute_task
from pulse_agent_adapter.heartbeat import heartbeat_interval, keep_alive
from pulse_agent_adapter.spans import (
    GEN_AI_OPERATION,
    GEN_AI_TOOL_NAME,
    tool_span_name,
)
from pulse_broker import durable_pull
from pulse_contracts import DispatchTask, TaskFinished, subjects
from pulse_telemetry import bind_run, current_trace_id, run_attributes

__all__ = ["register_handlers"]

log = logging.getLogger("pulse.agent_adapter")

_ERROR_LOG_CHARS = 300


def register_handlers(
    broker: NatsBroker,
    settings: Settings,
    *,
    registry: ToolRegistry,
    tracer: Tracer,
    metrics: CollectorRegistry,
    running: RunningTasks | None = None,
    large: LargeValues | None = None,
) -> None:
    """`large` reads inputs from and stores large outputs in the object store; without it
    every output travels inline."""
    running = running or RunningTasks()
    register_cancel_listener(broker, running)
    beat_every_s = heartbeat_interval(settings.ack_wait_s)
    tool_seconds = _ToolSeconds(
        Histogram(
            "pulse_tool_duration_seconds",
            "How long each tool call took, by tool and outcome.",
            ("tool", "outcome"),
            registry=metrics,
        )
    )
    results = broker.publisher(
        subjects.TASKS_RESULT,
        schema=TaskFinished,
        title="TaskFinished",
        description="The outcome of one attempt at a step.",
    )

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_TASKS,
            durable=subjects.Durable.AGENT_ADAPTER,
            subject=subjects.TASKS_DISPATCH_WILDCARD,
        ),
        title="DispatchTask",
        description="Run one step's tool; an infrastructure failure is redelivered.",
    )
    async def run_task(task: DispatchTask) -> None:
        bind_run(task.run_id, task.step_id, task.tenant)
        if running.is_canceled(task_key(task)):
            log.info("attempt %d was canceled before it ran", task.attempt)
            return
        attributes: dict[str, AttributeValue] = {
            GEN_AI_OPERATION: "execute_tool",
            GEN_AI_TOOL_NAME: task.tool,
            **run_attributes(task.run_id, task.tenant, task.step_id),
            "pulse.tool": task.tool,
            "pulse.attempt": task.attempt,
        }
        with tracer.start_as_current_span(tool_span_name(task.tool), attributes=attributes) as span:
            trace_id = current_trace_id() or task.trace_id
            work = (
                execute_task(registry, task, trace_id=trace_id)
                if large is None
                else large.execute(registry, task, trace_id=trace_id)
            )
            if not task.input_refs and registry.runs_inline(task.tool):
                # Done before a heartbeat or a CancelTask could matter: no task of its own.
                finished: TaskFinished | None = await work
            else:
                async with keep_alive(_consumed(broker), beat_every_s):
                    finished = await running.run(task_key(task), work)
            if finished is None:  # the executor no longer wants it: no result, just the ack
                span.set_attribute("pulse.canceled", True)
                log.info("attempt %d stopped on request", task.attempt)
                return
            if finished.error is not None:
                span.set_attribute("pulse.error_code", finished.error.code.value)
                span.set_attribute("error.type", finished.error.code.value)
                span.set_status(Status(StatusCode.ERROR, finished.error.message))
        # The deterministic id makes a redelivered task's second result a duplicate. Sent
        # through the declared publisher rather than pulse_broker.publish, which insists on
        # a PubAck that the in-memory TestNatsBroker never returns. Its telemetry
        # middleware writes `traceparent` (its own publish span) and the run's `baggage`:
        # injecting them here too was work it overwrote.
        await results.publish(
            finished,
            headers={"Nats-Msg-Id": finished.message_id},
            stream=subjects.STREAM_TASKS,
        )
        _report(finished, tool_seconds)


def _consumed(broker: NatsBroker) -> NatsMessage:
    """The message being handled, from FastStream's context.

    Not a `msg: NatsMessage` handler parameter: FastStream resolves that through a
    synchronous dependency, which fast_depends runs in a worker thread — a thread hand-off
    per message for what is a context lookup.
    """
    message = broker.context.get_local("message")
    if not isinstance(message, NatsMessage):  # pragma: no cover - FastStream always sets it
        raise RuntimeError("no NATS message is being handled")
    return message


class _ToolSeconds:
    """`pulse_tool_duration_seconds{tool,outcome}`, each labelled series looked up once."""

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._series: dict[tuple[str, str], Histogram] = {}

    def observe(self, tool: str, outcome: str, seconds: float) -> None:
        series = self._series.get((tool, outcome))
        if series is None:
            series = self._series[(tool, outcome)] = self._histogram.labels(tool, outcome)
        series.observe(seconds)


def _report(finished: TaskFinished, tool_seconds: _ToolSeconds) -> None:
    """One line per tool run. Never the tool's input or output: they are user data."""
    seconds = (finished.finished_at - finished.started_at).total_seconds()
    tool_seconds.observe(finished.tool, finished.outcome, seconds)
    error = finished.error
    log.log(
        logging.INFO if error is None else logging.WARNING,
        "task %s %s",
        finished.tool,
        finished.outcome,
        extra={
            "tool": finished.tool,
            "attempt": finished.attempt,
            "outcome": finished.outcome,
            "duration_ms": round(seconds * 1000, 3),
            "error_code": error.code.value if error else None,
            # Cut: a tool's message may quote part of what it was given.
            "error_message": error.message[:_ERROR_LOG_CHARS] if error else None,
            "prompt_tokens": finished.usage.prompt_tokens,
            "completion_tokens": finished.usage.completion_tokens,
            "cost_usd": finished.usage.cost_usd,
        },
    )
