"""The max-deliveries backstop against a real nats-server.

A consumer that never gets to ack or fail (the process died, or hung past `ack_wait`) is
played by a plain nats-py pull subscription on the same durable that fetches and walks
away. After `max_deliver` deliveries the next pull makes JetStream give up and publish the
advisory, which the service's broker turns into a letter.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import ClassVar

import nats
import pytest
from faststream.nats import NatsBroker, NatsMessage
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from pulse_broker import build_broker, dead_letter_metrics, durable_pull, provision_all
from pulse_contracts import DeadLettered, ErrorCode, subjects
from pulse_settings import ServiceSettings
from pulse_telemetry import Telemetry, setup_telemetry

pytestmark = pytest.mark.nats

DURABLE = "probe-tasks"
SUBJECT = subjects.dispatch_subject("probe")


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


def _settings(url: str) -> ProbeSettings:
    # Server-side max_deliver is max_deliver + 1 = 2; a short ack_wait redelivers quickly.
    return ProbeSettings(nats_url=url, log_format="text", max_deliver=1, ack_wait_s=1.0)


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def _service(settings: ProbeSettings, telemetry: Telemetry, handled: list[bytes]) -> NatsBroker:
    broker = build_broker(settings, telemetry)

    @broker.subscriber(
        **durable_pull(settings, stream=subjects.STREAM_TASKS, durable=DURABLE, subject=SUBJECT)
    )
    async def on_task(msg: NatsMessage) -> None:
        handled.append(msg.body)

    return broker


async def _exhaust(js: JetStreamContext, settings: ProbeSettings) -> None:
    """Take every delivery JetStream allows and never answer, as a crashing process would."""
    config = durable_pull(settings, stream=subjects.STREAM_TASKS, durable=DURABLE, subject=SUBJECT)
    consumer_config: ConsumerConfig = config["config"]
    assert consumer_config.max_deliver == 2
    sub = await js.pull_subscribe(
        SUBJECT, durable=DURABLE, stream=subjects.STREAM_TASKS, config=consumer_config
    )
    deliveries = 0
    while deliveries < 2:
        deliveries += len(await sub.fetch(1, timeout=5.0))  # redelivered once ack_wait passes
    await sub.unsubscribe()


async def _letters(js: JetStreamContext) -> list[DeadLettered]:
    found: list[DeadLettered] = []
    seq = 1
    while True:
        try:
            raw = await js.get_msg(
                subjects.STREAM_DLQ, seq=seq, subject=subjects.DLQ_WILDCARD, next=True
            )
        except NotFoundError:
            return found
        found.append(DeadLettered.model_validate_json(raw.data or b""))
        seq = (raw.seq or seq) + 1


async def test_message_that_is_never_acked_is_dead_lettered_once_by_two_replicas(
    nats_url: str,
) -> None:
    settings = _settings(nats_url)
    telemetry = [setup_telemetry(settings, install_global=False) for _ in range(2)]
    handled: list[bytes] = []
    replicas = [_service(settings, t, handled) for t in telemetry]
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        await provision_all(replicas[0], settings)
        poison = json.dumps({"run_id": "r-1", "step_id": "s1", "kills": "the handler"}).encode()
        await js.publish(SUBJECT, poison, headers={"Nats-Msg-Id": "poison-1", "x-tenant": "acme"})
        await _exhaust(js, settings)
        await js.publish(SUBJECT, b'{"fine": true}', headers={"Nats-Msg-Id": "fine-1"})
        for replica in replicas:
            await replica.start()  # their next pull makes JetStream give up on the poison

        async def lettered_and_released() -> bool:
            tasks = await js.stream_info(subjects.STREAM_TASKS)
            return bool(await _letters(js)) and tasks.state.messages == 0 and bool(handled)

        await _eventually(lettered_and_released)
        await asyncio.sleep(0.5)  # give a second (duplicate) letter the chance to show up
        letters = await _letters(js)
        assert len(letters) == 1
        letter = letters[0]
        assert letter.consumer == DURABLE
        assert letter.original_subject == SUBJECT
        assert letter.error.code is ErrorCode.MAX_DELIVERIES_EXCEEDED
        assert (letter.error.run_id, letter.error.step_id) == ("r-1", "s1")
        assert letter.deliveries == 2
        assert letter.payload.encode() == poison
        assert letter.headers["x-tenant"] == "acme"
        assert letter.message_id == f"{subjects.STREAM_TASKS}:1:dlq"
        assert handled == [b'{"fine": true}']

        written = sum(
            dead_letter_metrics(t.registry)
            .written.labels(consumer=DURABLE, code="max_deliveries_exceeded")
            ._value.get()
            for t in telemetry
        )
        assert written == 1  # the other replica's publish was a duplicate
    finally:
        for replica in replicas:
            await replica.stop()
        await nc.close()


async def test_advisories_of_other_consumers_are_left_alone(nats_url: str) -> None:
    settings = _settings(nats_url)
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))

    @broker.subscriber(
        **durable_pull(
            settings,
            stream=subjects.STREAM_RUNS,
            durable="probe-runs",
            subject=subjects.RUNS_REQUESTED,
        )
    )
    async def on_request(msg: NatsMessage) -> None:  # pragma: no cover - nothing is published
        pass

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        await provision_all(broker, settings)
        await broker.start()
        advisories = await nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>")
        await js.publish(SUBJECT, b"poison", headers={"Nats-Msg-Id": "poison-2"})
        await _exhaust(js, settings)
        # Not this broker's consumer: pulling on it makes JetStream give up and advise.
        sub = await js.pull_subscribe(SUBJECT, durable=DURABLE, stream=subjects.STREAM_TASKS)
        with pytest.raises(asyncio.TimeoutError):
            await sub.fetch(1, timeout=3.0)
        advisory = json.loads((await advisories.next_msg(timeout=10.0)).data)
        assert (advisory["consumer"], advisory["stream_seq"]) == (DURABLE, 1)
        await asyncio.sleep(0.5)
        assert await _letters(js) == []
        assert (await js.stream_info(subjects.STREAM_TASKS)).state.messages == 1
    finally:
        await broker.stop()
        await nc.close()
