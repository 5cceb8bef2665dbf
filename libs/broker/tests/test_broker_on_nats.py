"""The broker plumbing against a real nats-server: provisioning, dedupe, KV CAS, dead letters."""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

import pytest
from faststream.nats import NatsMessage

from pulse_broker import (
    KvConflict,
    TypedKv,
    build_broker,
    dead_letter_metrics,
    durable_pull,
    ensure_streams,
    jetstream,
    provision_all,
    publish,
)
from pulse_contracts import RunRequested, RunState, subjects
from pulse_settings import ServiceSettings
from pulse_telemetry import setup_telemetry

pytestmark = pytest.mark.nats


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


def _settings(url: str) -> ProbeSettings:
    return ProbeSettings(
        nats_url=url, log_format="text", max_deliver=3, redelivery_backoff_s=(0.05,)
    )


async def test_provisioning_is_idempotent_and_creates_every_stream(nats_url: str) -> None:
    settings = _settings(nats_url)
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))
    try:
        await provision_all(broker, settings, (subjects.KV_RUN_STATE,))
        js = await jetstream(broker)
        await ensure_streams(js, settings)  # second time: no error, same result
        names = {s.config.name for s in await js.streams_info()}
        assert {
            subjects.STREAM_RUNS,
            subjects.STREAM_TASKS,
            subjects.STREAM_EVENTS,
            subjects.STREAM_DLQ,
        } <= names
        assert f"KV_{subjects.KV_RUN_STATE}" in names
    finally:
        await broker.stop()


async def test_resend_with_same_message_id_is_stored_once(nats_url: str) -> None:
    settings = _settings(nats_url)
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))
    try:
        await provision_all(broker, settings)
        message = RunRequested(message_id="run:r1:requested", run_id="r1", prompt="p")
        first = await publish(broker, message, subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS)
        second = await publish(
            broker, message, subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS
        )
        assert not first.duplicate
        assert second.duplicate
        info = await (await jetstream(broker)).stream_info(subjects.STREAM_RUNS)
        assert info.state.messages == 1
    finally:
        await broker.stop()


async def test_typed_kv_compare_and_set(nats_url: str) -> None:
    settings = _settings(nats_url)
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))
    try:
        buckets = await provision_all(broker, settings, (subjects.KV_RUN_STATE,))
        kv = TypedKv(buckets[subjects.KV_RUN_STATE], RunState)
        state = RunState(run_id="r1", tenant="t", prompt="p")
        revision = await kv.create("r1", state)
        with pytest.raises(KvConflict):
            await kv.create("r1", state)
        await kv.update("r1", state.model_copy(update={"seq": 1}), revision)
        with pytest.raises(KvConflict):
            await kv.update("r1", state.model_copy(update={"seq": 2}), revision)  # stale
        current = await kv.get("r1")
        assert current is not None
        assert current.value.seq == 1
        assert await kv.get("missing") is None
    finally:
        await broker.stop()


async def test_poison_and_exhausted_messages_are_dead_lettered_and_consumer_continues(
    nats_url: str,
) -> None:
    settings = _settings(nats_url)
    telemetry = setup_telemetry(settings, install_global=False)
    broker = build_broker(settings, telemetry)
    handled: list[str] = []
    attempts: dict[str, int] = {}

    @broker.subscriber(
        **durable_pull(
            settings, stream=subjects.STREAM_RUNS, durable="probe", subject=subjects.RUNS_REQUESTED
        )
    )
    async def on_request(request: RunRequested, msg: NatsMessage) -> None:
        attempts[request.run_id] = attempts.get(request.run_id, 0) + 1
        if request.prompt == "explode":
            raise RuntimeError("transient? no, always")
        handled.append(request.run_id)

    try:
        await provision_all(broker, settings)
        await broker.start()
        await broker.publish(b"{broken", subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS)
        await publish(
            broker,
            RunRequested(message_id="m-x", run_id="x", prompt="explode"),
            subjects.RUNS_REQUESTED,
            stream=subjects.STREAM_RUNS,
        )
        await publish(
            broker,
            RunRequested(message_id="m-ok", run_id="ok", prompt="fine"),
            subjects.RUNS_REQUESTED,
            stream=subjects.STREAM_RUNS,
        )
        js = await jetstream(broker)
        for _ in range(100):
            dlq = await js.stream_info(subjects.STREAM_DLQ)
            if dlq.state.messages >= 2 and handled:
                break
            await asyncio.sleep(0.1)
        assert handled == ["ok"]
        assert attempts["x"] == settings.max_deliver  # redelivered with back-off, then given up
        letters = [json.loads((await js.get_msg(subjects.STREAM_DLQ, seq)).data) for seq in (1, 2)]
        codes = sorted(letter["error"]["code"] for letter in letters)
        assert codes == ["internal", "invalid_message"]
        assert all(letter["original_subject"] == subjects.RUNS_REQUESTED for letter in letters)
        consumer = await js.consumer_info(subjects.STREAM_RUNS, "probe")
        assert consumer.num_ack_pending == 0
        assert consumer.num_pending == 0
        written = dead_letter_metrics(telemetry.registry).written
        for code in ("internal", "invalid_message"):
            assert written.labels(consumer="probe", code=code)._value.get() == 1
    finally:
        await broker.stop()
