"""The object store for large values against a real nats-server."""

from __future__ import annotations

from typing import ClassVar

import pytest

from pulse_broker import (
    BlobCorrupted,
    BlobMissing,
    InMemoryBlobStore,
    NatsBlobStore,
    build_broker,
    load_blob,
    open_output_store,
)
from pulse_contracts import blob_ref, encode_blob, output_key, subjects
from pulse_settings import ServiceSettings
from pulse_telemetry import setup_telemetry


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


@pytest.mark.nats
async def test_a_two_mib_value_round_trips_with_its_digest(nats_url: str) -> None:
    settings = ProbeSettings(nats_url=nats_url, log_format="text")
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))
    try:
        store = await open_output_store(broker, settings, NatsBlobStore())
        # Twice: the second start finds the bucket.
        await open_output_store(broker, settings, NatsBlobStore())
        value = {"text": "x" * (2 * 1024 * 1024)}
        data = encode_blob(value)
        ref = blob_ref("", data)
        ref = ref.model_copy(update={"key": output_key("run-1", "s1", 1, ref.sha256)})
        assert ref.bucket == subjects.OBJ_OUTPUTS
        await store.put(ref, data)
        await store.put(ref, data)  # a redelivered writer: skipped, nothing replaced
        assert await load_blob(store, ref) == value

        with pytest.raises(BlobMissing):
            await store.get(ref.model_copy(update={"key": "run-1/s1/1/output/none"}))
        with pytest.raises(BlobCorrupted, match="sha256"):
            await store.get(ref.model_copy(update={"sha256": "0" * 64}))

        js = broker.connection.jetstream()
        info = await js.stream_info(f"OBJ_{subjects.OBJ_OUTPUTS}")
        assert info.config.max_age == settings.events_max_age_s
    finally:
        await broker.stop()


async def test_the_in_memory_store_has_the_same_rules() -> None:
    store = InMemoryBlobStore()
    ref = await store.put_value("k", [1, 2, 3])
    assert await load_blob(store, ref) == [1, 2, 3]
    with pytest.raises(BlobMissing):
        await store.get(ref.model_copy(update={"key": "other"}))
    with pytest.raises(BlobCorrupted, match="bytes"):
        await store.get(ref.model_copy(update={"size": 1}))
