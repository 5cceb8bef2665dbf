"""Facts about the machine a benchmark ran on, saved beside its figures."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime
from pathlib import Path

import psutil
from pydantic import BaseModel

from pulse_contracts import utcnow

__all__ = ["MachineFacts", "load_average", "machine_facts"]


class MachineFacts(BaseModel):
    hostname: str
    os: str
    cpu_model: str
    logical_cores: int
    physical_cores: int | None
    memory_gib: float
    python: str
    nats_server: str
    pulse_commit: str | None
    """`git describe --always --dirty`: `-dirty` means uncommitted changes were measured."""
    load_average_at_start: tuple[float, float, float]
    recorded_at: datetime


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return (round(one, 2), round(five, 2), round(fifteen, 2))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _command_output(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def machine_facts(nats_server_version: str) -> MachineFacts:
    """`nats_server_version` comes from the server's INFO, so it is the one measured."""
    return MachineFacts(
        hostname=platform.node(),
        os=f"{platform.system()} {platform.release()}",
        cpu_model=_cpu_model(),
        logical_cores=os.cpu_count() or 1,
        physical_cores=psutil.cpu_count(logical=False),
        memory_gib=round(psutil.virtual_memory().total / 2**30, 1),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        nats_server=nats_server_version,
        pulse_commit=_command_output(["git", "describe", "--always", "--dirty"]),
        load_average_at_start=load_average(),
        recorded_at=utcnow(),
    )
