"""Dead-letter pieces that need no server: the backstop's letter, owners, the depth gauge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import ClassVar

from faststream.nats import NatsBroker, NatsMessage
from nats.js.api import RawStreamMsg
from prometheus_client import CollectorRegistry, generate_latest

from pulse_broker import (
    DeadLetterMetrics,
    DlqDepth,
    MaxDeliveriesAdvisory,
    build_broker,
    dead_letter_metrics,
    durable_pull,
    exhausted_letter,
    letter_id,
)
from pulse_broker.exhausted import durable_consumers
from pulse_contracts import DeadLettered, ErrorCode, ErrorInfo, subjects
from pulse_settings import ServiceSettings
from pulse_telemetry import setup_telemetry


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


def _advisory(**changes: object) -> MaxDeliveriesAdvisory:
    fields: dict[str, object] = {
        "stream": "PULSE_TASKS",
        "consumer": "agent-adapter",
        "stream_seq": 42,
        "deliveries": 6,
    }
    return MaxDeliveriesAdvisory.model_validate(fields | changes)


def test_exhausted_letter_keeps_the_message_and_names_the_run() -> None:
    original = RawStreamMsg(
        subject="pulse.tasks.dispatch.tools",
        seq=42,
        data=b'{"run_id": "r-9", "step_id": "s2", "tool": "calc"}',
        headers={"traceparent": "00-abc-def-01", "Nats-Msg-Id": "r-9:s2:1:dispatch"},
        time=datetime.now(UTC),
    )
    letter = exhausted_letter(_advisory(), original)
    assert letter.message_id == letter_id("PULSE_TASKS", 42) == "PULSE_TASKS:42:dlq"
    assert letter.consumer == "agent-adapter"
    assert letter.original_subject == "pulse.tasks.dispatch.tools"
    assert letter.error.code is ErrorCode.MAX_DELIVERIES_EXCEEDED
    assert (letter.error.run_id, letter.error.step_id) == ("r-9", "s2")
    assert "6 times" in letter.error.message
    assert letter.headers["Nats-Msg-Id"] == "r-9:s2:1:dispatch"
    assert letter.deliveries == 6


def test_exhausted_letter_of_a_body_that_is_not_json() -> None:
    original = RawStreamMsg(subject="pulse.runs.requested", seq=1, data=b"\xff{broken")
    letter = exhausted_letter(_advisory(stream_seq=1), original)
    assert letter.payload == "\ufffd{broken"
    assert letter.error.run_id is None
    assert letter.headers == {}


def test_advisory_reads_the_server_document() -> None:
    advisory = MaxDeliveriesAdvisory.model_validate_json(
        b'{"type":"io.nats.jetstream.advisory.v1.max_deliver","id":"x",'
        b'"timestamp":"2026-01-01T00:00:00Z","stream":"S","consumer":"c",'
        b'"stream_seq":7,"deliveries":3,"domain":"hub"}'
    )
    assert (advisory.stream, advisory.consumer, advisory.stream_seq) == ("S", "c", 7)


def test_durable_consumers_are_the_brokers_pull_subscribers() -> None:
    settings = ProbeSettings()
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))

    @broker.subscriber(
        **durable_pull(
            settings, stream=subjects.STREAM_RUNS, durable="probe", subject=subjects.RUNS_REQUESTED
        )
    )
    async def on_request(msg: NatsMessage) -> None:  # pragma: no cover - never started
        pass

    @broker.subscriber("core.subject")
    async def on_core(msg: NatsMessage) -> None:  # pragma: no cover - never started
        pass

    assert durable_consumers(broker) == {(subjects.STREAM_RUNS, "probe")}
    assert durable_consumers(NatsBroker()) == set()


def test_metrics_are_registered_once_per_registry() -> None:
    registry = CollectorRegistry()
    first = dead_letter_metrics(registry)
    assert dead_letter_metrics(registry) is first
    settings = ProbeSettings()
    telemetry = setup_telemetry(settings, install_global=False)
    build_broker(settings, telemetry)
    built = dead_letter_metrics(telemetry.registry)
    build_broker(settings, telemetry)  # a second broker on the same registry does not raise
    assert dead_letter_metrics(telemetry.registry) is built


def test_written_counter_is_labelled_by_consumer_and_code() -> None:
    metrics: DeadLetterMetrics = dead_letter_metrics(CollectorRegistry())
    letter = DeadLettered(
        message_id="S:1:dlq",
        consumer="planner",
        original_subject=subjects.RUNS_REQUESTED,
        error=ErrorInfo(code=ErrorCode.INVALID_MESSAGE, message="bad"),
        payload="{",
    )
    metrics.record(letter)
    metrics.record(letter)
    assert metrics.written.labels(consumer="planner", code="invalid_message")._value.get() == 2


async def test_depth_reports_counts_and_consumers_without_letters() -> None:
    registry = CollectorRegistry()
    depth = DlqDepth(ttl_s=60.0)
    registry.register(depth)
    reads = 0

    async def source() -> dict[str, int] | None:
        nonlocal reads
        reads += 1
        return {"planner": 3}

    depth.bind(source, lambda: ["archiver", "planner"])
    await depth.refresh()
    await depth.refresh()  # cached: not read again within the ttl
    text = generate_latest(registry).decode()
    assert 'pulse_dlq_messages{consumer="planner"} 3.0' in text
    assert 'pulse_dlq_messages{consumer="archiver"} 0.0' in text
    assert reads == 1


async def test_depth_never_fails_a_scrape_and_keeps_the_last_value() -> None:
    depth = DlqDepth(ttl_s=0.0, timeout_s=0.05)
    answers: list[dict[str, int] | Exception | None] = [{"planner": 2}, RuntimeError("down")]

    async def source() -> dict[str, int] | None:
        answer = answers.pop(0) if answers else None
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            await asyncio.sleep(10)  # hangs: the timeout must cut it short
        return answer

    depth.bind(source)
    await depth.refresh()
    await depth.refresh()  # raises inside: logged, last value kept
    await depth.refresh()  # hangs: timed out, last value kept
    assert depth.counts == {"planner": 2}


async def test_depth_without_a_source_or_before_connecting_reports_nothing() -> None:
    registry = CollectorRegistry()
    depth = DlqDepth()
    registry.register(depth)
    await depth.refresh()
    assert "pulse_dlq_messages{" not in generate_latest(registry).decode()

    async def not_connected() -> dict[str, int] | None:
        return None

    depth.bind(not_connected, lambda: ["planner"])
    await depth.refresh()
    assert 'pulse_dlq_messages{consumer="planner"} 0.0' in generate_latest(registry).decode()


async def test_collect_inside_a_loop_refreshes_for_the_next_scrape() -> None:
    registry = CollectorRegistry()
    depth = DlqDepth(ttl_s=60.0)
    registry.register(depth)
    read = asyncio.Event()

    async def source() -> dict[str, int] | None:
        read.set()
        return {"executor-plans": 1}

    depth.bind(source)
    first = generate_latest(registry).decode()  # an endpoint that does not await refresh()
    assert 'consumer="executor-plans"' not in first
    await asyncio.wait_for(read.wait(), 5)
    await asyncio.sleep(0)
    assert 'pulse_dlq_messages{consumer="executor-plans"} 1.0' in generate_latest(registry).decode()
