"""The consumer backlog gauges read a real backlog from a real nats-server."""

from __future__ import annotations

from typing import ClassVar

import pytest
from faststream.nats import NatsMessage
from nats.js.api import ConsumerConfig

from pulse_broker import build_broker, consumer_backlog, durable_pull, jetstream, provision_all
from pulse_contracts import subjects
from pulse_settings import ServiceSettings
from pulse_telemetry import setup_telemetry

pytestmark = pytest.mark.nats

DURABLE = "probe-backlog"


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


async def test_pending_then_ack_pending_follow_the_consumer(nats_url: str) -> None:
    settings = ProbeSettings(nats_url=nats_url, log_format="text")
    telemetry = setup_telemetry(settings, install_global=False)
    broker = build_broker(settings, telemetry)
    arguments = durable_pull(
        settings, stream=subjects.STREAM_RUNS, durable=DURABLE, subject=subjects.RUNS_REQUESTED
    )

    @broker.subscriber(**arguments)
    async def on_request(msg: NatsMessage) -> None:  # pragma: no cover - never started
        pass

    backlog = consumer_backlog(telemetry.registry)
    labels = {"stream": subjects.STREAM_RUNS, "consumer": DURABLE}

    def sample(name: str) -> float | None:
        return telemetry.registry.get_sample_value(name, labels)

    try:
        # Connected but not started: the durable exists and nobody pulls from it.
        await provision_all(broker, settings)
        js = await jetstream(broker)
        config = arguments["config"]
        assert isinstance(config, ConsumerConfig)
        await backlog.refresh()
        assert sample("pulse_consumer_pending_messages") is None  # not created yet
        await js.add_consumer(subjects.STREAM_RUNS, config)
        for n in range(5):
            await js.publish(
                subjects.RUNS_REQUESTED, b"{}", headers={"Nats-Msg-Id": f"backlog-{n}"}
            )

        await backlog.refresh(max_age_s=0.0)
        assert sample("pulse_consumer_pending_messages") == 5
        assert sample("pulse_consumer_ack_pending_messages") == 0

        puller = await js.pull_subscribe_bind(DURABLE, subjects.STREAM_RUNS)
        fetched = await puller.fetch(3, timeout=5)
        assert len(fetched) == 3  # delivered, never acknowledged

        await backlog.refresh(max_age_s=0.0)
        assert sample("pulse_consumer_pending_messages") == 2
        assert sample("pulse_consumer_ack_pending_messages") == 3

        await fetched[0].ack_sync()
        await backlog.refresh(max_age_s=0.0)
        assert sample("pulse_consumer_ack_pending_messages") == 2
    finally:
        await broker.stop()
