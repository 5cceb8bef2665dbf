"""A whole stack of its own per chaos test: embedded NATS and PostgreSQL that the test may
restart, five services with a short ack wait so a killed consumer's messages come back fast.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from pulse_stack.launcher import Stack
from pulse_stack.ports import free_port

from .workload import API_KEY, TENANT

log = logging.getLogger("pulse.chaos")


@pytest.fixture
def chaos_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Kept on disk when the test fails (logs in `state_dir/logs`), removed when it passes."""
    # Not under pytest's basetemp: a concurrent pytest session resets its permissions, which
    # locks PostgreSQL's unprivileged user out of its data directory.
    state_dir = Path(tempfile.mkdtemp(prefix="pulse-chaos-"))
    stack = Stack(
        state_dir=state_dir,
        nats_url=None,
        database_url=None,
        api_keys=f"{API_KEY}={TENANT}",
        gateway_port=free_port(),
        pg_fsync=False,
        extra_env={
            # A SIGKILLed consumer's unacknowledged messages are redelivered after this.
            "PULSE_ACK_WAIT_S": "5",
            "PULSE_LOG_LEVEL": "INFO",
            # Keeps runs with an LLM step in flight long enough for the faults to meet them.
            "PULSE_OFFLINE_LATENCY_MS": "1500",
        },
        ready_timeout_s=90.0,
    )
    with stack:
        yield stack
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.passed:
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Let fixtures see how the test went (`item.rep_call`)."""
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture
async def chaos_nats(chaos_stack: Stack) -> AsyncIterator[Client]:
    """The test's own connection; it rides out a nats-server restart like the services do."""

    async def expected_while_restarting(error: Exception) -> None:
        log.debug("test connection: %r", error)

    client = await nats.connect(
        str(chaos_stack.nats_url),
        error_cb=expected_while_restarting,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
    )
    try:
        yield client
    finally:
        await client.close()
