"""Publishing effects: commands to agents, run events, timers, and stop requests.

- `DispatchTask` → `pulse.tasks.dispatch.<agent>` (PULSE_TASKS);
- run events → `pulse.runs.events.<run_id>` (PULSE_EVENTS);
- timers → their own `pulse.timers.schedule.…` subject (PULSE_TIMERS) with the
  `Nats-Schedule` headers, so the server delivers them on `pulse.timers.fired.<kind>` when
  due (see `pulse_contracts.timers`);
- `CancelTask` → core NATS `pulse.tasks.cancel.<run_id>`: every agent-adapter replica
  hears it; no stream keeps it (a lost one costs only the work it would have saved).

Timers a change made moot are withdrawn by purging their subject from `PULSE_TIMERS`: the
stream keeps one schedule per subject, and a purged schedule never fires.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC
from typing import Protocol

from faststream.nats import NatsBroker
from nats.js.api import PubAck
from opentelemetry import trace
from opentelemetry.trace import Tracer

from pulse_contracts import (
    CancelTask,
    DispatchTask,
    Message,
    RetryDue,
    RunDeadlineDue,
    StepTimeoutDue,
    TimerBase,
    subjects,
)
from pulse_executor.adapters.direct import DirectSend
from pulse_executor.domain import Effect, PendingTimer
from pulse_telemetry import inject_headers

__all__ = [
    "BusEffectPublisher",
    "EffectPublisher",
    "Send",
    "TimerWithdrawal",
    "pending_timer_subject",
    "route",
    "schedule_headers",
    "timer_subject",
]


class EffectPublisher(Protocol):
    async def publish(self, effect: Effect) -> None: ...


class TimerWithdrawal(Protocol):
    async def withdraw(self, timers: tuple[PendingTimer, ...]) -> None: ...


class Send(Protocol):
    """The shape of `pulse_broker.publish`."""

    def __call__(
        self,
        broker: NatsBroker,
        message: Message,
        subject: str,
        *,
        stream: str,
        headers: dict[str, str] | None = None,
    ) -> Awaitable[PubAck]: ...


def timer_subject(timer: TimerBase) -> str:
    """The subject a timer waits on: one per timer (a stream keeps one schedule per subject)."""
    if isinstance(timer, StepTimeoutDue | RetryDue):
        return subjects.timer_schedule_subject(
            timer.run_id, timer.step_id, timer.attempt, timer.kind
        )
    generation = timer.generation if isinstance(timer, RunDeadlineDue) else 0
    return subjects.timer_schedule_subject(timer.run_id, "-", generation, timer.kind)


def pending_timer_subject(timer: PendingTimer) -> str:
    """The subject a scheduled timer waits on, from its identity (as `timer_subject`)."""
    return subjects.timer_schedule_subject(timer.run_id, timer.step_id, timer.attempt, timer.kind)


def schedule_headers(timer: TimerBase) -> dict[str, str]:
    """JetStream message scheduling: store a copy on the fired subject at `due_at`."""
    due = timer.due_at
    due = due.astimezone(UTC) if due.tzinfo is not None else due.replace(tzinfo=UTC)
    return {
        "Nats-Schedule": f"@at {due.isoformat()}",
        "Nats-Schedule-Target": subjects.timer_fired_subject(timer.kind),
    }


def route(effect: Effect) -> tuple[str, str | None]:
    """`(subject, stream)` of an effect; stream None for a core-NATS broadcast."""
    if isinstance(effect, DispatchTask):
        return subjects.dispatch_subject(effect.agent), subjects.STREAM_TASKS
    if isinstance(effect, TimerBase):
        return timer_subject(effect), subjects.STREAM_TIMERS
    if isinstance(effect, CancelTask):
        return subjects.task_cancel_subject(effect.run_id), None
    return subjects.run_events_subject(effect.run_id), subjects.STREAM_EVENTS


class BusEffectPublisher:
    """Each effect with its deterministic `Nats-Msg-Id`, waiting for the stream's ack.

    By default messages go straight out on the broker's connection (`DirectSend`: one
    producer span each). Given a `send` (the shape of `pulse_broker.publish`, e.g. for
    FastStream's in-memory test broker), everything goes through the broker instead.

    Trace context comes from the current OpenTelemetry context, which the coordinator sets
    to the run's own when the triggering message belonged to another trace.
    """

    def __init__(
        self, broker: NatsBroker, send: Send | None = None, *, tracer: Tracer | None = None
    ) -> None:
        self._broker = broker
        self._direct = DirectSend(tracer or trace.get_tracer(__name__))
        self._send: Send = send if send is not None else self._direct
        self._through_broker = send is not None

    async def publish(self, effect: Effect) -> None:
        subject, stream = route(effect)
        if stream is None:
            if not self._through_broker:
                await self._direct.core(self._broker, effect, subject)
                return
            core = inject_headers({"Nats-Msg-Id": effect.message_id})
            await self._broker.publish(effect.model_dump_json().encode(), subject, headers=core)
            return
        extra = schedule_headers(effect) if isinstance(effect, TimerBase) else None
        await self._send(self._broker, effect, subject, stream=stream, headers=extra)

    async def withdraw(self, timers: tuple[PendingTimer, ...]) -> None:
        """Purge each timer's schedule subject; raises if any purge failed (the caller
        treats withdrawing as best effort)."""
        js = self._direct.jetstream(self._broker)
        outcomes = await asyncio.gather(
            *(
                js.purge_stream(subjects.STREAM_TIMERS, subject=pending_timer_subject(timer))
                for timer in timers
            ),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
