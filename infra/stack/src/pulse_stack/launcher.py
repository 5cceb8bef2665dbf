"""Start and stop the whole Pulse stack as local processes.

Order matters: NATS and PostgreSQL first, then the archiver's migrations, then the five
services, each waited on until its `/readyz` answers 200. Stopping goes the other way.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import httpx

from pulse_stack.ports import free_port
from pulse_stack.servers import EmbeddedNats, EmbeddedPostgres, ServerProcess

__all__ = ["SERVICES", "ScrapeTargets", "ServiceSpec", "Stack"]

log = logging.getLogger(__name__)


class ScrapeTargets(TypedDict):
    """A Prometheus file_sd target group: addresses to scrape and the labels they get."""

    targets: list[str]
    labels: dict[str, str]


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # kebab-case: folder, image, Helm key, OTEL_SERVICE_NAME
    default_port: int

    @property
    def module(self) -> str:
        return "pulse_" + self.name.replace("-", "_")


# Start order: consumers before the gateway, so the first request finds everyone ready.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("archiver", 8084),
    ServiceSpec("agent-adapter", 8083),
    ServiceSpec("executor", 8082),
    ServiceSpec("planner", 8081),
    ServiceSpec("gateway", 8080),
)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class RunningService:
    spec: ServiceSpec
    port: int
    proc: ServerProcess
    replica: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """The embedded stack. Use as a context manager, or call `start()` and `stop()`."""

    state_dir: Path
    nats_url: str | None = None
    database_url: str | None = None
    api_keys: str = "pulse-dev-key=default"
    gateway_port: int | None = None
    log_format: str = "json"
    extra_env: dict[str, str] = field(default_factory=dict)
    ready_timeout_s: float = 60.0
    services: tuple[ServiceSpec, ...] = SERVICES
    pg_fsync: bool = True

    nats: EmbeddedNats | None = field(default=None, init=False)
    postgres: EmbeddedPostgres | None = field(default=None, init=False)
    running: list[RunningService] = field(default_factory=list, init=False)

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start everything; if any part fails, stop what already started, then raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.nats_url is None:
            self.nats = EmbeddedNats(self.state_dir / "nats")
            self.nats.start()
            self.nats_url = self.nats.url
        if self.database_url is None:
            self.postgres = EmbeddedPostgres(self.state_dir / "postgres", fsync=self.pg_fsync)
            self.postgres.start()
            self.database_url = self.postgres.url()
        self.migrate()
        for spec in self.services:
            self.start_service(spec)
        for service in self.running:
            self.wait_ready(service)

    def stop(self) -> None:
        for service in reversed(self.running):
            service.proc.stop(signal.SIGTERM, timeout_s=20)
        self.running.clear()
        if self.postgres is not None:
            self.postgres.stop()
        if self.nats is not None:
            self.nats.stop()

    # --- pieces ------------------------------------------------------------------------
    def env(self, spec: ServiceSpec, port: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PULSE_NATS_URL": str(self.nats_url),
                "PULSE_DATABASE_URL": str(self.database_url),
                "PULSE_HTTP_HOST": "127.0.0.1",
                "PULSE_HTTP_PORT": str(port),
                "PULSE_LOG_FORMAT": self.log_format,
                "PULSE_API_KEYS": self.api_keys,
                # A development stack: the gateway's per-key rate limit would only get in the
                # way of demos, benchmarks and the chaos suite (`extra_env` may set one).
                "PULSE_RATE_LIMIT_PER_S": "0",
                "OTEL_SERVICE_NAME": spec.name,
            }
        )
        env.update(self.extra_env)
        return env

    def migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "pulse_archiver", "migrate"],
            env=self.env(SERVICES[0], 0),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"migrations failed:\n{result.stdout}\n{result.stderr}")

    def start_service(self, spec: ServiceSpec, replica: int | None = None) -> RunningService:
        if replica is None:
            replica = sum(1 for s in self.running if s.spec == spec)
        port = free_port()
        if spec.name == "gateway" and replica == 0:
            wanted = self.gateway_port
            if wanted is not None and (wanted == 0 or _port_free(wanted)):
                port = wanted or port
        suffix = f"-{replica}" if replica else ""
        proc = ServerProcess(spec.name, self.state_dir / "logs" / f"{spec.name}{suffix}.log")
        proc.spawn([sys.executable, "-m", spec.module], env=self.env(spec, port))
        service = RunningService(spec, port, proc, replica)
        self.running.append(service)
        return service

    def wait_ready(self, service: RunningService) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            if not service.proc.running:
                raise RuntimeError(
                    f"{service.spec.name} exited during start:\n{service.proc.log_tail(40)}"
                )
            try:
                if httpx.get(f"{service.url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{service.spec.name} not ready after {self.ready_timeout_s}s:\n"
                    f"{service.proc.log_tail(40)}"
                )
            time.sleep(0.1)

    def service(self, name: str, replica: int = 0) -> RunningService:
        for s in self.running:
            if s.spec.name == name and s.replica == replica:
                return s
        raise KeyError(f"{name}[{replica}] is not running")

    def restart_service(self, name: str, replica: int = 0, *, kill: bool = False) -> RunningService:
        """Stop (SIGTERM, or SIGKILL with `kill=True`) and start one service again."""
        old = self.service(name, replica)
        old.proc.kill() if kill else old.proc.stop()
        self.running.remove(old)
        new = self.start_service(old.spec, replica)
        self.wait_ready(new)
        return new

    @property
    def gateway_url(self) -> str:
        return self.service("gateway").url

    def scrape_targets(self) -> list[ScrapeTargets]:
        """Every running service's metrics address as Prometheus file_sd target groups.

        `pulse-stack up` writes them to `<state_dir>/prometheus-targets.json`, which the local
        Prometheus and collector configs in infra/observability read: the ports are free ports
        picked at start-up, so no static scrape config could name them.
        """
        return [
            {
                "targets": [f"127.0.0.1:{s.port}"],
                "labels": {"service": s.spec.name, "replica": str(s.replica)},
            }
            for s in self.running
        ]

    def pids(self) -> dict[str, int]:
        pids = {f"{s.spec.name}-{s.replica}": s.proc.pid for s in self.running if s.proc.pid}
        if self.postgres and self.postgres.proc.pid:
            pids["postgres"] = self.postgres.proc.pid
        if self.nats and self.nats.proc.pid:
            pids["nats-server"] = self.nats.proc.pid
        return pids
