"""The consumer backlog gauges without a server: rendering, caching, wiring into the broker."""

from __future__ import annotations

from typing import ClassVar

from faststream.nats import NatsMessage
from prometheus_client import CollectorRegistry, generate_latest

from pulse_broker import (
    Backlog,
    ConsumerBacklog,
    backlog_per_consumer,
    build_broker,
    consumer_backlog,
    durable_pull,
)
from pulse_contracts import subjects
from pulse_settings import ServiceSettings
from pulse_telemetry import setup_telemetry


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


async def test_backlog_is_reported_per_stream_and_consumer() -> None:
    registry = CollectorRegistry()
    backlog = ConsumerBacklog(ttl_s=60.0)
    registry.register(backlog)
    reads = 0

    async def source() -> dict[tuple[str, str], Backlog] | None:
        nonlocal reads
        reads += 1
        return {
            ("PULSE_RUNS", "planner"): Backlog(pending=7, ack_pending=2),
            ("PULSE_TASKS", "executor-results"): Backlog(pending=0, ack_pending=1),
        }

    backlog.bind(source)
    await backlog.refresh()
    await backlog.refresh()  # cached: not read again within the ttl
    assert reads == 1

    def sample(name: str, stream: str, consumer: str) -> float | None:
        return registry.get_sample_value(name, {"stream": stream, "consumer": consumer})

    assert sample("pulse_consumer_pending_messages", "PULSE_RUNS", "planner") == 7
    assert sample("pulse_consumer_ack_pending_messages", "PULSE_RUNS", "planner") == 2
    assert sample("pulse_consumer_pending_messages", "PULSE_TASKS", "executor-results") == 0
    assert sample("pulse_consumer_ack_pending_messages", "PULSE_TASKS", "executor-results") == 1

    await backlog.refresh(max_age_s=0.0)  # a caller that wants it fresh reads again
    assert reads == 2


async def test_a_failing_reading_keeps_the_last_backlog() -> None:
    backlog = ConsumerBacklog(ttl_s=0.0)
    answers: list[dict[tuple[str, str], Backlog] | Exception] = [
        {("PULSE_RUNS", "planner"): Backlog(3, 0)},
        TimeoutError("no answer"),
    ]

    async def source() -> dict[tuple[str, str], Backlog] | None:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    backlog.bind(source)
    await backlog.refresh()
    await backlog.refresh()  # raises inside: logged, last value kept
    assert backlog.reading == {("PULSE_RUNS", "planner"): Backlog(3, 0)}


async def test_build_broker_wires_the_backlog_of_its_durable_consumers() -> None:
    settings = ProbeSettings(log_format="text")
    telemetry = setup_telemetry(settings, install_global=False)
    broker = build_broker(settings, telemetry)

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_RUNS,
            durable="probe-runs",
            subject=subjects.RUNS_REQUESTED,
        )
    )
    async def on_request(msg: NatsMessage) -> None:  # pragma: no cover - never started
        pass

    backlog = consumer_backlog(telemetry.registry)
    assert consumer_backlog(telemetry.registry) is backlog  # registered once per registry
    build_broker(settings, telemetry)  # a second broker on the same registry does not raise
    # Not connected yet: nothing is read and nothing is reported, the scrape still works.
    assert await backlog_per_consumer(broker)() is None
    await backlog.refresh()
    text = generate_latest(telemetry.registry).decode()
    assert "# TYPE pulse_consumer_pending_messages gauge" in text
    assert "pulse_consumer_pending_messages{" not in text
