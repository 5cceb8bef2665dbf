"""`provision_bus`, the setup Job's first step, against a real nats-server."""

from __future__ import annotations

import nats
import pytest

from pulse_broker.bootstrap import provision_bus
from pulse_broker.provision import KV_BUCKETS, OBJECT_STORES
from pulse_contracts import subjects
from pulse_settings import ServiceSettings

pytestmark = pytest.mark.nats


async def test_provisions_every_stream_and_bucket_idempotently(nats_url: str) -> None:
    settings = ServiceSettings(nats_url=nats_url)
    first = await provision_bus(settings, wait_s=5)
    second = await provision_bus(settings, wait_s=5)
    assert first == second
    nc = await nats.connect(nats_url)
    try:
        names = {s.config.name for s in await nc.jetstream().streams_info()}
    finally:
        await nc.close()
    assert set(subjects.STREAM_SUBJECTS) <= names
    assert {f"KV_{bucket}" for bucket in KV_BUCKETS} <= names
    assert {f"OBJ_{bucket}" for bucket in OBJECT_STORES} <= names
    assert set(first) == {*subjects.STREAM_SUBJECTS, *(f"KV_{b}" for b in KV_BUCKETS)} | {
        f"OBJ_{b}" for b in OBJECT_STORES
    }


async def test_gives_up_with_a_clear_error_when_nats_never_answers() -> None:
    from pulse_stack.ports import free_port

    settings = ServiceSettings(nats_url=f"nats://127.0.0.1:{free_port()}")
    with pytest.raises(ConnectionError, match="did not answer"):
        await provision_bus(settings, wait_s=0.1)


async def test_services_only_look_buckets_up_when_they_may_not_provision(nats_url: str) -> None:
    from pulse_broker import build_broker, provision_all
    from pulse_telemetry import setup_telemetry

    settings = ServiceSettings(nats_url=nats_url, provision_streams=False)
    await provision_bus(ServiceSettings(nats_url=nats_url), wait_s=5)  # the setup job
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))
    try:
        buckets = await provision_all(broker, settings, (subjects.KV_RUN_STATE,))
        await buckets[subjects.KV_RUN_STATE].put("probe", b"1")
    finally:
        await broker.stop()
