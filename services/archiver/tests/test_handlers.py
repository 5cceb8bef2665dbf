"""The subscriber, in memory: typed events in, archive rows and log lines out."""

from __future__ import annotations

import logging

import pytest
from faststream.nats import NatsBroker, TestNatsBroker
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from pulse_archiver.adapters import InMemoryArchive
from pulse_archiver.config import Settings
from pulse_archiver.handlers import register_handlers
from pulse_contracts import RunEvent, RunStatus
from pulse_contracts.subjects import run_events_subject


@pytest.fixture
def archive() -> InMemoryArchive:
    return InMemoryArchive()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def broker(archive: InMemoryArchive, registry: CollectorRegistry) -> NatsBroker:
    broker = NatsBroker()
    register_handlers(broker, Settings(), archive, registry)
    return broker


async def test_events_are_archived_once(
    broker: NatsBroker,
    archive: InMemoryArchive,
    registry: CollectorRegistry,
    run_events: list[RunEvent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="pulse_archiver")
    async with TestNatsBroker(broker) as test_broker:
        for event in [*run_events, run_events[-1]]:
            await test_broker.publish(
                event.model_dump_json().encode(), run_events_subject(event.run_id)
            )

    archived = await archive.get_run("run-1", "acme")
    assert archived is not None
    assert archived.run.status is RunStatus.COMPLETED
    assert await archive.get_run("run-1", "globex") is None

    def count(event_type: str, outcome: str) -> float | None:
        return registry.get_sample_value(
            "pulse_archiver_events_total", {"type": event_type, "outcome": outcome}
        )

    assert count("step.completed", "new") == 3
    assert count("step.failed", "new") == 1
    assert count("run.completed", "new") == 1
    assert count("run.completed", "duplicate") == 1

    terminal = [r for r in caplog.records if r.levelno == logging.INFO]
    assert [r.getMessage() for r in terminal] == ["run run-1 archived as completed"]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert sum(m.startswith("archived ") for m in debug) == len(run_events)


async def test_a_message_that_is_no_run_event_is_refused(
    broker: NatsBroker, archive: InMemoryArchive
) -> None:
    async with TestNatsBroker(broker) as test_broker:
        with pytest.raises(ValidationError):
            await test_broker.publish(
                b'{"type": "run.exploded", "run_id": "r1", "seq": 1, "message_id": "x"}',
                run_events_subject("r1"),
            )
    assert archive.history.event_count == 0
