"""Dead letters operated from Python and from `pulse dlq`, against a real nats-server.

A consumer built like every service's (pulse_broker) writes the letters: one body that does
not validate, and one message whose handler fails until it is "fixed". The letter of the
latter is replayed once the handler works, and must then be handled.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from faststream.nats import NatsBroker, NatsMessage

from pulse_broker import build_broker, durable_pull, provision_all, publish
from pulse_client import DeadLetterNotFound, DeadLetters, StoredLetter
from pulse_client.cli import main
from pulse_client.dlq import REPLAYED_FROM_HEADER
from pulse_contracts import ErrorCode, RunRequested, subjects
from pulse_settings import ServiceSettings
from pulse_telemetry import setup_telemetry

pytestmark = pytest.mark.nats

CONSUMER = "probe-dlq"


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


@dataclass
class Service:
    broker: NatsBroker
    url: str
    broken: bool = True
    handled: list[tuple[str, dict[str, str]]] = field(default_factory=list)


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def service(nats_url: str) -> AsyncIterator[Service]:
    """A consumer with two letters in the DLQ: ids 1 (invalid body) and 2 (handler failed)."""
    settings = ProbeSettings(
        nats_url=nats_url, log_format="text", max_deliver=2, redelivery_backoff_s=(0.05,)
    )
    broker = build_broker(settings, setup_telemetry(settings, install_global=False))
    svc = Service(broker, nats_url)

    @broker.subscriber(
        **durable_pull(
            settings, stream=subjects.STREAM_RUNS, durable=CONSUMER, subject=subjects.RUNS_REQUESTED
        )
    )
    async def on_request(request: RunRequested, msg: NatsMessage) -> None:
        if svc.broken:
            raise RuntimeError("the handler has a bug")
        svc.handled.append((request.run_id, dict(msg.headers)))

    await provision_all(broker, settings)
    await broker.start()
    try:
        await broker.publish(b"{not json", subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS)
        await _eventually(lambda: _count(nats_url, 1))
        await publish(
            broker,
            RunRequested(message_id="run:r-7:requested", run_id="r-7", prompt="p"),
            subjects.RUNS_REQUESTED,
            stream=subjects.STREAM_RUNS,
            headers={"x-tenant": "acme"},
        )
        await _eventually(lambda: _count(nats_url, 2))
        yield svc
    finally:
        await broker.stop()


async def _count(url: str, expected: int) -> bool:
    async with DeadLetters(url) as dlq:
        return sum((await dlq.counts()).values()) == expected


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return status, out, err


async def test_letters_are_listed_with_their_reasons(service: Service) -> None:
    async with DeadLetters(service.url) as dlq:
        letters = await dlq.letters()
        assert [s.id for s in letters] == [1, 2]
        invalid, failed = (s.letter for s in letters)
        assert invalid.error.code is ErrorCode.INVALID_MESSAGE
        assert invalid.deliveries == 1
        assert failed.error.code is ErrorCode.INTERNAL
        assert failed.error.message == "RuntimeError: the handler has a bug"
        assert failed.deliveries == 2
        assert failed.headers["x-tenant"] == "acme"
        assert {s.letter.consumer for s in letters} == {CONSUMER}
        assert all(s.letter.original_subject == subjects.RUNS_REQUESTED for s in letters)
        assert all(s.stored_at is not None for s in letters)

        assert [s.id for s in await dlq.letters(limit=1)] == [1]
        assert [s.id for s in await dlq.letters(after=1)] == [2]
        assert [s.id for s in await dlq.letters(consumer=CONSUMER)] == [1, 2]
        assert await dlq.letters(consumer="someone-else") == []
        assert await dlq.counts() == {CONSUMER: 2}
        assert (await dlq.get(2)).letter == failed
        with pytest.raises(DeadLetterNotFound):
            await dlq.get(99)


async def test_replay_sends_the_message_back_and_removes_the_letter(service: Service) -> None:
    service.broken = False  # the bug is fixed: the replayed message must now be handled
    async with DeadLetters(service.url) as dlq:
        replayed = await dlq.replay(2)
        assert (replayed.subject, replayed.stream) == (
            subjects.RUNS_REQUESTED,
            subjects.STREAM_RUNS,
        )
        assert not replayed.duplicate

        async def handled() -> bool:
            return bool(service.handled)

        await _eventually(handled)
        run_id, headers = service.handled[0]
        assert run_id == "r-7"
        assert headers["x-tenant"] == "acme"
        assert headers[REPLAYED_FROM_HEADER] == f"{subjects.STREAM_DLQ}:2"
        assert headers["Nats-Msg-Id"] == replayed.replay_id != "run:r-7:requested"
        assert [s.id for s in await dlq.letters()] == [1]
        with pytest.raises(DeadLetterNotFound):
            await dlq.replay(2)

        await dlq.purge(1)
        assert await dlq.letters() == []
        with pytest.raises(DeadLetterNotFound):
            await dlq.purge(1)


async def test_replay_of_a_message_that_fails_again_gives_a_new_letter(service: Service) -> None:
    async with DeadLetters(service.url) as dlq:
        await dlq.replay(2)

        async def new_letter() -> list[StoredLetter]:
            return [s for s in await dlq.letters() if s.id != 1]

        await _eventually(lambda: _has(new_letter))
        (again,) = await new_letter()
        assert again.id > 2
        assert again.letter.error.code is ErrorCode.INTERNAL
        assert again.letter.headers[REPLAYED_FROM_HEADER] == f"{subjects.STREAM_DLQ}:2"


async def _has(letters: Callable[[], Awaitable[list[StoredLetter]]]) -> bool:
    return bool(await letters())


async def test_cli_lists_shows_replays_and_purges(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    url = service.url
    status, out, _ = await _cli(capsys, "dlq", "--nats-url", url, "list")
    assert status == 0
    header, first, second, footer = out.strip().splitlines()
    assert header.split() == ["ID", "STORED", "(UTC)", "CONSUMER", "SUBJECT", "DELIV", "ERROR"]
    assert first.split()[0] == "1"
    assert "invalid_message" in first
    assert second.split()[3:6] == [CONSUMER, subjects.RUNS_REQUESTED, "2"]
    assert "internal: RuntimeError: the handler has a bug" in second
    assert footer == "(2 of 2 letters)"

    status, out, _ = await _cli(capsys, "dlq", "list", "--nats-url", url, "--limit", "1")
    assert out.strip().splitlines()[-1] == "(1 of 2 letters; next page: --after 1)"

    status, out, _ = await _cli(capsys, "--json", "dlq", "--nats-url", url, "list")
    listed = json.loads(out)
    assert [(letter["id"], letter["error"]["code"]) for letter in listed] == [
        (1, "invalid_message"),
        (2, "internal"),
    ]
    assert listed[1]["consumer"] == CONSUMER
    assert listed[1]["deliveries"] == 2

    status, out, _ = await _cli(capsys, "dlq", "--nats-url", url, "show", "2")
    assert "RuntimeError: the handler has a bug" in out
    assert "x-tenant: acme" in out

    service.broken = False
    status, out, _ = await _cli(capsys, "dlq", "--nats-url", url, "replay", "2", "--json")
    assert status == 0
    (replayed,) = json.loads(out)
    assert replayed["id"] == 2
    assert replayed["subject"] == subjects.RUNS_REQUESTED

    status, out, err = await _cli(capsys, "dlq", "--nats-url", url, "purge", "1", "2")
    assert status == 1  # 2 was already removed by the replay
    assert out.strip() == "letter 1 purged"
    assert "no dead letter with id 2" in err

    status, out, _ = await _cli(capsys, "dlq", "--nats-url", url, "list")
    assert out.strip() == "no dead letters (0 in total)"
    status, _, err = await _cli(capsys, "dlq", "--nats-url", url, "show", "1")
    assert status == 1
    assert "no dead letter with id 1" in err
