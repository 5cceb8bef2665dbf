"""A poison message that kills the service process on every delivery still ends in the DLQ.

The service (`crashing_service.py`) is started again each time it dies, as Kubernetes would.
Once JetStream has delivered the message `max_deliver` times, the next replica's pull makes
it give up; that replica's broker dead-letters the message, deletes it from the work queue
and reports it on `/metrics`.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from pulse_broker import ensure_streams
from pulse_contracts import DeadLettered, ErrorCode, subjects
from pulse_settings import ServiceSettings
from pulse_stack.ports import free_port

pytestmark = [pytest.mark.nats, pytest.mark.slow]

SERVICE = Path(__file__).with_name("crashing_service.py")
SUBJECT = subjects.dispatch_subject("crashy")


class _Service:
    def __init__(self, nats_url: str, log: Path) -> None:
        self.port = free_port()
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(SERVICE), nats_url, str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, ServiceSettings(nats_url=nats_url))
        yield js
    finally:
        await nc.close()


async def _letter(js: JetStreamContext) -> DeadLettered | None:
    try:
        raw = await js.get_msg(subjects.STREAM_DLQ, seq=1, subject=subjects.DLQ_WILDCARD, next=True)
    except NotFoundError:
        return None
    return DeadLettered.model_validate_json(raw.data or b"")


async def test_message_that_kills_the_process_every_time_is_dead_lettered(
    nats_url: str, js: JetStreamContext, tmp_path: Path
) -> None:
    await js.publish(SUBJECT, b"poison", headers={"Nats-Msg-Id": "poison-crash"})
    log = tmp_path / "service.log"
    crashes = 0
    letter: DeadLettered | None = None
    service: _Service | None = None
    try:
        # Server-side max_deliver is 2: two crashes, then the third start dead-letters.
        for _ in range(6):
            service = _Service(nats_url, log)
            for _ in range(600):
                letter = await _letter(js)
                if letter is not None or service.process.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            if letter is not None:
                break
            assert service.process.returncode == 17, log.read_text()[-3000:]
            crashes += 1
            service.stop()
        assert letter is not None, log.read_text()[-3000:]
        assert service is not None
        assert service.process.poll() is None  # the replica that dead-lettered it lives on
        assert crashes == 2
        assert letter.consumer == "crashy"
        assert letter.original_subject == SUBJECT
        assert letter.error.code is ErrorCode.MAX_DELIVERIES_EXCEEDED
        assert letter.payload == "poison"
        assert letter.deliveries == 2

        async def released() -> bool:
            return (await js.stream_info(subjects.STREAM_TASKS)).state.messages == 0

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.port}") as http:
            metrics = ""
            for _ in range(300):
                metrics = (await http.get("/metrics")).text
                if 'pulse_dlq_messages{consumer="crashy"} 1.0' in metrics and await released():
                    break
                await asyncio.sleep(0.1)
        assert 'pulse_dlq_messages{consumer="crashy"} 1.0' in metrics, metrics
        assert (
            'pulse_dead_letters_total{code="max_deliveries_exceeded",consumer="crashy"} 1.0'
            in metrics
        )
        assert await released()
    finally:
        if service is not None:
            service.stop()
