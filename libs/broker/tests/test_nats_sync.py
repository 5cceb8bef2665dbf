"""`server_caught_up` against a real nats-server: a subscription is live once it returns,
and so is every subscription of a started `PulseBroker`."""

from __future__ import annotations

from typing import ClassVar

import nats
import pytest
from nats.errors import NoRespondersError

from pulse_broker import build_broker, server_caught_up
from pulse_settings import ServiceSettings
from pulse_telemetry import setup_telemetry

pytestmark = pytest.mark.nats


async def test_a_subscription_answers_requests_from_another_connection(nats_url: str) -> None:
    responder = await nats.connect(nats_url)
    requester = await nats.connect(nats_url)
    try:
        # Each round subscribes a new responder and asks from the other connection at once:
        # without the barrier, nats-py's flush() let about one in 300 such requests through
        # before the server knew the subscription.
        for round_no in range(50):
            subject = f"pulse.test.sync.{round_no}"
            with pytest.raises(NoRespondersError):
                await requester.request(subject, b"", timeout=5)

            async def answer(msg: nats.aio.msg.Msg) -> None:
                await msg.respond(msg.data)

            sub = await responder.subscribe(subject, queue="q", cb=answer)
            await server_caught_up(responder)
            reply = await requester.request(subject, str(round_no).encode(), timeout=5)
            assert reply.data == str(round_no).encode()
            await sub.unsubscribe()
    finally:
        await requester.close()
        await responder.close()


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


async def test_a_started_broker_answers_requests_at_once(nats_url: str) -> None:
    settings = ProbeSettings(nats_url=nats_url, log_format="text")
    requester = await nats.connect(nats_url)
    try:
        for round_no in range(20):
            broker = build_broker(settings, setup_telemetry(settings, install_global=False))
            subject = f"pulse.test.started.{round_no}"

            @broker.subscriber(subject, queue="q")
            async def echo(body: int) -> int:
                return body

            await broker.start()
            try:
                # No retry on "no responders": start() returned, so the server has the SUB.
                reply = await requester.request(subject, str(round_no).encode(), timeout=5)
            finally:
                await broker.stop()
            assert reply.data == str(round_no).encode()
    finally:
        await requester.close()
