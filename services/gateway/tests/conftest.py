"""Fixtures for the gateway's tests: an app over in-memory adapters and an HTTP client.

Real NATS comes from the `pulse_stack.testing` plugin (`nats_url`, `nats_server`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Final

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pulse_contracts import (
    Plan,
    PlanStep,
    RunCompleted,
    RunEvent,
    RunStarted,
    StepCompleted,
    StepDispatched,
    Usage,
    utcnow,
)
from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import InMemoryRunPublisher, InMemoryRunStore
from pulse_gateway.wiring import Backends, in_memory_backends
from pulse_stack.testing import serving as serving_app
from pulse_telemetry import Telemetry, setup_telemetry

TENANT_A_KEY: Final = "key-of-tenant-a"
TENANT_B_KEY: Final = "key-of-tenant-b"
AUTH_A: Final = {"Authorization": f"Bearer {TENANT_A_KEY}"}
AUTH_B: Final = {"Authorization": f"Bearer {TENANT_B_KEY}"}


@pytest.fixture
def auth_a() -> dict[str, str]:
    return dict(AUTH_A)


@pytest.fixture
def auth_b() -> dict[str, str]:
    return dict(AUTH_B)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        api_keys={TENANT_A_KEY: "tenant-a", TENANT_B_KEY: "tenant-b"},
        log_format="json",
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(settings: Settings, spans: InMemorySpanExporter) -> Telemetry:
    """Set up in the fixture phase, so pytest's log capture is installed after it."""
    telemetry = setup_telemetry(settings, install_global=False)
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    return telemetry


@pytest.fixture
def store() -> InMemoryRunStore:
    return InMemoryRunStore()


@pytest.fixture
def publisher() -> InMemoryRunPublisher:
    return InMemoryRunPublisher()


@pytest.fixture
def backends(
    settings: Settings, store: InMemoryRunStore, publisher: InMemoryRunPublisher
) -> Backends:
    """In-memory backends around `store` and `publisher` (archive, keys, usage, ...)."""
    return in_memory_backends(settings, store, publisher)


@pytest.fixture
def app(settings: Settings, telemetry: Telemetry, backends: Backends) -> FastAPI:
    return create_app(settings, telemetry=telemetry, backends=backends)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: Starlette re-raises after answering a 500, for the server
    # to log; the client must still see the 500 response, as a real one would.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


@dataclass
class LiveServer:
    """A gateway served by uvicorn on a free loopback port, in this event loop."""

    app: FastAPI
    url: str

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10, **kwargs)  # type: ignore[arg-type]

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[LiveServer]:
    """`app` as `main()` runs it (lifespan on), until the block ends."""
    async with serving_app(app, ws="websockets-sansio") as url:
        yield LiveServer(app, url)


@pytest.fixture
def serve() -> Callable[[FastAPI], AbstractAsyncContextManager[LiveServer]]:
    return serving


def sample_events(run_id: str, tenant: str) -> list[RunEvent]:
    """A short run's whole history: started, one step dispatched and completed, completed."""
    now = utcnow()
    plan = Plan(steps=[PlanStep(id="s1", tool="calculator", input={"expression": "6*7"})])
    common = {"run_id": run_id, "tenant": tenant}
    return [
        RunStarted(
            message_id=f"{run_id}:1",
            seq=1,
            prompt="calculate 6*7",
            plan=plan,
            planner="rule-based",
            **common,
        ),
        StepDispatched(
            message_id=f"{run_id}:2",
            seq=2,
            step_id="s1",
            attempt=1,
            tool="calculator",
            input={"expression": "6*7"},
            **common,
        ),
        StepCompleted(
            message_id=f"{run_id}:3",
            seq=3,
            step_id="s1",
            attempt=1,
            tool="calculator",
            output=42,
            usage=Usage(prompt_tokens=3, completion_tokens=4, cost_usd=0.001),
            started_at=now,
            finished_at=now,
            **common,
        ),
        RunCompleted(
            message_id=f"{run_id}:4",
            seq=4,
            result=42,
            usage=Usage(prompt_tokens=3, completion_tokens=4, cost_usd=0.001),
            **common,
        ),
    ]


@pytest.fixture
def history_of() -> Callable[[str, str], list[RunEvent]]:
    return sample_events
