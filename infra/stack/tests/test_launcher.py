"""The launcher never leaves a process behind, even when a service fails to start."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from pulse_stack.launcher import ServiceSpec, Stack

pytestmark = [pytest.mark.nats, pytest.mark.postgres, pytest.mark.e2e]


class BrokenGatewayStack(Stack):
    def env(self, spec: ServiceSpec, port: int) -> dict[str, str]:
        env = super().env(spec, port)
        if spec.name == "gateway":
            env["PULSE_HTTP_PORT"] = "not-a-port"  # its Settings refuse this: it exits
        return env


def test_a_failed_start_stops_every_service_it_started(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    stack = BrokenGatewayStack(
        state_dir=tmp_path, nats_url=nats_url, database_url=database_url, ready_timeout_s=60
    )
    with pytest.raises(RuntimeError, match="gateway exited during start"):
        stack.start()
    started = [pid for pid in psutil.pids() if _serves(pid, nats_url)]
    assert started == []
    assert stack.running == []


def _serves(pid: int, nats_url: str) -> bool:
    """A live Pulse service process started for this test's NATS."""
    try:
        process = psutil.Process(pid)
        return (
            process.status() != psutil.STATUS_ZOMBIE
            and "pulse_" in " ".join(process.cmdline())
            and process.environ().get("PULSE_NATS_URL") == nats_url
        )
    except psutil.Error:
        return False
