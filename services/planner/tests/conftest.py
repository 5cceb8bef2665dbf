"""Fixtures for the planner's unit tests (real servers come from `pulse_stack.testing`)."""

from __future__ import annotations

import itertools

import pytest
from faststream.nats.testing import FakeProducer
from nats.js.api import PubAck

from pulse_planner import PlannerSettings
from pulse_telemetry import Telemetry, setup_telemetry


@pytest.fixture
def settings() -> PlannerSettings:
    return PlannerSettings(log_format="json")


@pytest.fixture
def telemetry(settings: PlannerSettings) -> Telemetry:
    """Set up in the fixture phase, so pytest's log capture is installed after it."""
    return setup_telemetry(settings, install_global=False)


@pytest.fixture
def stream_acks(monkeypatch: pytest.MonkeyPatch) -> list[PubAck]:
    """Make TestNatsBroker answer a stream publish with a `PubAck`, as JetStream does.

    Its fake producer returns None, which `pulse_broker.publish` rightly treats as a
    publish that was never acknowledged. Each fake ack is recorded here. A `Nats-Msg-Id`
    seen before on the same stream is acknowledged as a duplicate, as JetStream does
    (the fake still delivers it: a redelivery, as far as the subscriber can tell).
    """
    original = FakeProducer.publish
    sequence = itertools.count(1)
    acks: list[PubAck] = []
    seen: set[tuple[str, str]] = set()

    async def publish_with_ack(self: FakeProducer, cmd: object) -> PubAck:
        await original(self, cmd)  # type: ignore[arg-type]
        stream = getattr(cmd, "stream", None) or ""
        message_id = (getattr(cmd, "headers", None) or {}).get("Nats-Msg-Id")
        duplicate = message_id is not None and (stream, message_id) in seen
        if message_id is not None:
            seen.add((stream, message_id))
        ack = PubAck(stream=stream, seq=next(sequence), duplicate=duplicate or None)
        acks.append(ack)
        return ack

    monkeypatch.setattr(FakeProducer, "publish", publish_with_ack)
    return acks
