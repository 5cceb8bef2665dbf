"""The archiver as a process, against real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse_archiver.adapters import (
    PostgresArchive,
    create_archive_engine,
    current_revision,
    head_revision,
)
from pulse_archiver.domain import ArchivedRun, fold
from pulse_broker import publish
from pulse_contracts import RunEvent
from pulse_contracts.subjects import STREAM_EVENTS, run_events_subject
from pulse_stack.ports import free_port

pytestmark = [pytest.mark.nats, pytest.mark.postgres]

RunFactory = Callable[..., list[RunEvent]]


@dataclass
class Archiver:
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "pulse_archiver", "migrate"],
            env=self.env,
            check=True,
            timeout=60,
            capture_output=True,
        )

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pulse_archiver"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    async def readiness(self, want: int, timeout_s: float = 30.0) -> dict[str, object]:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
            for _ in range(int(timeout_s / 0.2)):
                assert self.process is not None
                assert self.process.poll() is None, self.log()
                try:
                    response = await client.get("/readyz")
                    if response.status_code == want:
                        return dict(response.json())
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"/readyz never answered {want}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def log_lines(self) -> list[dict[str, object]]:
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


@pytest.fixture
def archiver(nats_url: str, database_url: str, tmp_path: Path) -> Iterator[Archiver]:
    port = free_port()
    env = {
        **os.environ,
        "PULSE_NATS_URL": nats_url,
        "PULSE_DATABASE_URL": database_url,
        "PULSE_HTTP_PORT": str(port),
        "PULSE_LOG_LEVEL": "DEBUG",
        "PULSE_LOG_FORMAT": "json",
    }
    service = Archiver(env, port, tmp_path / "archiver.log")
    try:
        yield service
    finally:
        # uvicorn re-raises SIGTERM once its graceful shutdown is complete
        assert service.stop() in (None, 0, -signal.SIGTERM), service.log()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_archive_engine(database_url)
    yield engine
    await engine.dispose()


async def _publish(nats_url: str, events: list[RunEvent]) -> None:
    broker = NatsBroker(nats_url)
    await broker.connect()
    try:
        for event in events:
            await publish(broker, event, run_events_subject(event.run_id), stream=STREAM_EVENTS)
        # The same event again under another Nats-Msg-Id, so JetStream stores it twice and
        # only the archiver's own idempotency can keep it from counting twice.
        again = events[-1]
        await broker.publish(
            again.model_dump_json().encode(),
            run_events_subject(again.run_id),
            headers={"Nats-Msg-Id": f"{again.message_id}:resent"},
            stream=STREAM_EVENTS,
        )
    finally:
        await broker.stop()


async def _archived(
    engine: AsyncEngine, expected: dict[str, ArchivedRun], events: int, timeout_s: float = 30.0
) -> None:
    archive = PostgresArchive(engine)
    seen: dict[str, ArchivedRun | None] = {}
    for _ in range(int(timeout_s / 0.2)):
        seen = {run_id: await archive.get_run(run_id, "acme") for run_id in expected}
        async with engine.connect() as conn:
            stored = (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()
        if seen == expected and stored == events:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"archive never matched: {seen} ({stored} events)")


async def test_the_service_archives_published_events(
    archiver: Archiver, nats_url: str, engine: AsyncEngine, make_run: RunFactory
) -> None:
    archiver.migrate()
    assert await current_revision(engine) == head_revision()
    archiver.start()
    await archiver.readiness(200)

    events = make_run("run-1", steps=4) + make_run("run-2", steps=2, retry=False)
    random.Random(3).shuffle(events)
    await _publish(nats_url, events)
    await _archived(engine, fold(events), len(events))

    # The handler logs after its commit returns: the rows can be visible a moment before
    # the last lines are in the file.
    for _ in range(50):
        logs = archiver.log_lines()
        finished = [m for m in logs if str(m["message"]).endswith("archived as completed")]
        per_event = sum(str(line["message"]).startswith("archived ") for line in logs)
        if len(finished) >= 2 and per_event >= len(events):
            break
        await asyncio.sleep(0.1)
    assert sorted(str(line["run_id"]) for line in finished) == ["run-1", "run-2"]
    assert all(line["tenant"] == "acme" and line["level"] == "info" for line in finished)
    assert per_event == len(events)


@pytest.mark.slow
async def test_events_wait_for_the_schema_instead_of_being_lost(
    archiver: Archiver, nats_url: str, engine: AsyncEngine, make_run: RunFactory
) -> None:
    archiver.start()  # before `pulse-archiver migrate`: every insert fails
    body = await archiver.readiness(503)
    assert body["failing"] == ["postgres"]
    events = make_run("run-1", steps=2)
    await _publish(nats_url, events)
    await asyncio.sleep(1.5)  # deliveries fail and are scheduled again with back-off
    assert await current_revision(engine) is None

    archiver.migrate()
    await archiver.readiness(200)
    await _archived(engine, fold(events), len(events), timeout_s=45)
    assert any("pulse-archiver migrate" in str(line["message"]) for line in archiver.log_lines())
