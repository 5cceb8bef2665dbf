"""pytest plugin: real NATS and PostgreSQL for every test that asks, never a mock.

Where they come from, in order: `PULSE_NATS_URL` / `PULSE_DATABASE_URL` when set; else
testcontainers when a Docker engine answers; else the embedded binaries started here on
free loopback ports. Servers are session-scoped and always stopped, even when tests fail.

Fixtures:
- `nats_server`, `postgres_server` (session): the servers (`.url`, ...).
- `nats_url` (function): the NATS URL after wiping every Pulse stream and KV bucket, so each
  test starts from an empty bus.
- `database_url` (function): a SQLAlchemy URL of a fresh, empty database, dropped after.

And `serving(app)`: a service's ASGI app under uvicorn in the test's own event loop, on a
free loopback port, for tests that drive it over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
import uvicorn
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse_stack.servers import EmbeddedNats, EmbeddedPostgres

__all__ = ["NatsEndpoint", "PostgresEndpoint", "serving", "wipe_pulse_streams"]


class _BackendSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")
    nats_url: str | None = None
    database_url: str | None = None


@dataclass
class NatsEndpoint:
    url: str
    embedded: EmbeddedNats | None = None


@dataclass
class PostgresEndpoint:
    """`url(db)` gives a SQLAlchemy asyncpg URL; `admin_dsn` is a libpq URL for admin SQL."""

    base_url: str  # SQLAlchemy URL without the database name
    admin_dsn: str
    embedded: EmbeddedPostgres | None = None

    def url(self, database: str = "pulse") -> str:
        return f"{self.base_url}/{database}"


def _server_dir(kind: str) -> Path:
    # Not under pytest's basetemp: a concurrent pytest session resets its permissions (which
    # locks out PostgreSQL's unprivileged user) and prunes old numbered folders.
    return Path(tempfile.mkdtemp(prefix=f"pulse-test-{kind}-"))


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsEndpoint]:
    configured = _BackendSettings().nats_url
    if configured:
        yield NatsEndpoint(configured)
        return
    if _docker_answers():
        from testcontainers.nats import NatsContainer

        with NatsContainer(command="-js") as container:
            yield NatsEndpoint(container.nats_uri())
        return
    state = _server_dir("nats")
    server = EmbeddedNats(state)
    try:
        server.start()
        yield NatsEndpoint(server.url, server)
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresEndpoint]:
    configured = _BackendSettings().database_url
    if configured:
        base = configured.rsplit("/", 1)[0]
        plain = base.replace("postgresql+asyncpg://", "postgresql://")
        yield PostgresEndpoint(base, f"{plain}/postgres")
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as container:
            url = container.get_connection_url()
            base = url.rsplit("/", 1)[0]
            yield PostgresEndpoint(base, base.replace("+asyncpg", "") + "/postgres")
        return
    state = _server_dir("pg")
    server = EmbeddedPostgres(state, fsync=False)
    try:
        server.start()
        base = server.url().rsplit("/", 1)[0]
        yield PostgresEndpoint(
            base, f"postgresql://postgres@127.0.0.1:{server.port}/postgres", server
        )
    finally:
        server.stop()
        # ~140 MB a session: left behind, a few dozen runs fill /tmp.
        shutil.rmtree(state, ignore_errors=True)


async def wipe_pulse_streams(url: str) -> None:
    """Delete every Pulse stream and KV bucket: an empty bus for the next test."""
    nc = await nats.connect(url, connect_timeout=5)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            name = info.config.name or ""
            if name.startswith(("PULSE_", "KV_pulse_", "OBJ_pulse_")):
                await js.delete_stream(name)
    finally:
        await nc.close()


@contextlib.asynccontextmanager
async def serving(
    app: Callable[..., Awaitable[None]], *, ws: str = "auto", startup_timeout_s: float = 30.0
) -> AsyncIterator[str]:
    """`app` as the service's `main()` serves it (lifespan on), until the block ends; yields
    its base URL. The port is bound here first, so no other process can take it meanwhile."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, ws=ws)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(startup_timeout_s):
            while not server.started:
                if task.done():
                    raise RuntimeError("the app did not start") from task.exception()
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        sock.close()


@pytest.fixture
async def nats_url(nats_server: NatsEndpoint) -> str:
    await wipe_pulse_streams(nats_server.url)
    return nats_server.url


@pytest.fixture
async def database_url(postgres_server: PostgresEndpoint) -> AsyncIterator[str]:
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(postgres_server.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_server.url(name)
    admin = await asyncpg.connect(postgres_server.admin_dsn)
    try:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'), 10
            )
    finally:
        await admin.close()
