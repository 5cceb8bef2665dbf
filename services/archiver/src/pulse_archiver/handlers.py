"""The one subscriber: every run event, from the durable pull consumer `archiver`."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from prometheus_client import CollectorRegistry, Counter

from pulse_archiver.adapters import Archive, read_stored
from pulse_archiver.config import Settings
from pulse_archiver.domain import step_id_of
from pulse_broker import BlobStore, durable_pull
from pulse_contracts import RunEvent, RunStatus
from pulse_contracts.subjects import RUN_EVENTS_WILDCARD, STREAM_EVENTS, Durable
from pulse_telemetry import bind_run

__all__ = ["register_handlers"]

log = logging.getLogger(__name__)

_TERMINAL_EVENTS = {
    "run.completed": RunStatus.COMPLETED,
    "run.failed": RunStatus.FAILED,
    "run.rejected": RunStatus.REJECTED,
    "run.canceled": RunStatus.CANCELED,
}


def register_handlers(
    broker: NatsBroker,
    settings: Settings,
    archive: Archive,
    registry: CollectorRegistry,
    blobs: BlobStore | None = None,
) -> None:
    """`blobs` is where values an event carries by reference are read from; without it
    they are archived as null."""
    archived = Counter(
        "pulse_archiver_events",
        "Run events handled by the archiver, by type and whether they were new",
        ["type", "outcome"],
        registry=registry,
    )

    @broker.subscriber(
        **durable_pull(
            settings, stream=STREAM_EVENTS, durable=Durable.ARCHIVER, subject=RUN_EVENTS_WILDCARD
        )
    )
    async def archive_event(event: RunEvent) -> None:
        # A storage error propagates: the dead-letter middleware redelivers with back-off.
        bind_run(event.run_id, step_id_of(event), event.tenant)
        stored = await read_stored(event, blobs) if blobs is not None else {}
        new = await archive.record(event, stored)
        archived.labels(event.type, "new" if new else "duplicate").inc()
        if not new:
            log.debug("event %s (seq %d) was archived before", event.message_id, event.seq)
            return
        log.debug(
            "archived %s (seq %d)", event.type, event.seq, extra={"event_id": event.message_id}
        )
        terminal = _TERMINAL_EVENTS.get(event.type)
        if terminal is not None:
            log.info("run %s archived as %s", event.run_id, terminal.value)
