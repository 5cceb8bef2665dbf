"""Publishing effects on JetStream: commands to agents, events of the run."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from faststream.nats import NatsBroker
from nats.js.api import PubAck

from pulse_broker import publish
from pulse_contracts import DispatchTask, Message, subjects
from pulse_executor.domain import Effect

__all__ = ["BusEffectPublisher", "EffectPublisher", "Send", "route"]


class EffectPublisher(Protocol):
    async def publish(self, effect: Effect) -> None: ...


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


def route(effect: Effect) -> tuple[str, str]:
    """`(subject, stream)` of an effect: tasks to their agent, events to their run."""
    if isinstance(effect, DispatchTask):
        return subjects.dispatch_subject(effect.agent), subjects.STREAM_TASKS
    return subjects.run_events_subject(effect.run_id), subjects.STREAM_EVENTS


class BusEffectPublisher:
    """Each effect with its deterministic `Nats-Msg-Id`, waiting for the stream's ack.

    Trace context comes from the current OpenTelemetry context, which the coordinator sets
    to the run's own when the triggering message belonged to another trace.
    """

    def __init__(self, broker: NatsBroker, send: Send = publish) -> None:
        self._broker = broker
        self._send = send

    async def publish(self, effect: Effect) -> None:
        subject, stream = route(effect)
        await self._send(self._broker, effect, subject, stream=stream)
