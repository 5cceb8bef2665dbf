"""A consumed message's baggage is in the handler's context: for its log lines and its hops."""

from __future__ import annotations

from typing import ClassVar

from faststream.nats import TestNatsBroker

from pulse_broker import build_broker
from pulse_settings import ServiceSettings
from pulse_telemetry import current_run_fields, inject_headers, setup_telemetry


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


async def test_the_handler_sees_the_baggage_the_publisher_sent() -> None:
    settings = ProbeSettings()
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))
    seen: list[tuple[dict[str, str], dict[str, str]]] = []

    @broker.subscriber("probe.baggage")
    async def handle(body: str) -> None:
        # Nothing bound by the handler: run and tenant come from the message's baggage,
        # and anything it publishes carries them on.
        seen.append((current_run_fields(), inject_headers()))

    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish("x", "probe.baggage")
        await test_broker.publish(
            "x", "probe.baggage", headers={"baggage": "run_id=run-42,tenant=acme"}
        )

    (bare_fields, bare_headers), (fields, headers) = seen
    assert fields == {"run_id": "run-42", "tenant": "acme"}
    assert {"run_id=run-42", "tenant=acme"} <= set(headers["baggage"].split(","))
    assert bare_fields == {}
    assert "baggage" not in bare_headers
