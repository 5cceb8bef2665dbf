"""Fixtures for the gateway's tests: an app over in-memory adapters and an HTTP client.

Real NATS comes from the `pulse_stack.testing` plugin (`nats_url`, `nats_server`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import InMemoryRunPublisher, InMemoryRunStore
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
def app(
    settings: Settings,
    telemetry: Telemetry,
    store: InMemoryRunStore,
    publisher: InMemoryRunPublisher,
) -> FastAPI:
    return create_app(settings, telemetry=telemetry, store=store, publisher=publisher)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: Starlette re-raises after answering a 500, for the server
    # to log; the client must still see the 500 response, as a real one would.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client
