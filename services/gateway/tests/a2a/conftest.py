"""A2A over the gateway without servers: in-memory backends, the simulated planner and
executor, and the official a2a-sdk client talking to the app through ASGI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from a2a.client import Client, ClientConfig, create_client
from fastapi import FastAPI

from pulse_contracts import ToolSpec
from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import (
    InMemoryRunControlPublisher,
    InMemoryRunEvents,
    InMemoryRunPublisher,
    InMemoryRunStore,
    InMemoryToolCatalogue,
)
from pulse_gateway.wiring import Backends, in_memory_backends
from pulse_telemetry import setup_telemetry

from .simulation import BASE_URL, KEY_A, KEY_B, ClientFor, InMemoryPulse, http_client


@pytest.fixture
def settings() -> Settings:
    return Settings(
        api_keys={KEY_A: "tenant-a", KEY_B: "tenant-b"},
        log_format="json",
        rate_limit_per_s=0,
        max_run_queue=10,
    )


@pytest.fixture
def control() -> InMemoryRunControlPublisher:
    return InMemoryRunControlPublisher()


@pytest.fixture
def backends(settings: Settings, control: InMemoryRunControlPublisher) -> Backends:
    backends = in_memory_backends(settings, InMemoryRunStore(), InMemoryRunPublisher(), control)
    assert isinstance(backends.tools, InMemoryToolCatalogue)
    backends.tools.specs.append(
        ToolSpec(name="calculator", description="Evaluate an arithmetic expression.")
    )
    return backends


@pytest.fixture
def app(settings: Settings, backends: Backends) -> FastAPI:
    telemetry = setup_telemetry(settings, install_global=False)
    app = create_app(settings, telemetry=telemetry, backends=backends)
    app.state.a2a.link.cancel_wait_s = 5.0
    return app


@pytest.fixture
async def pulse(backends: Backends) -> AsyncIterator[InMemoryPulse]:
    assert isinstance(backends.store, InMemoryRunStore)
    assert isinstance(backends.events, InMemoryRunEvents)
    assert isinstance(backends.control, InMemoryRunControlPublisher)
    simulated = InMemoryPulse(backends.store, backends.events, backends.control)
    driving = asyncio.create_task(simulated.drive())
    yield simulated
    driving.cancel()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app, KEY_A) as client:
        yield client


@pytest.fixture
async def a2a_client(app: FastAPI) -> AsyncIterator[ClientFor]:
    """`await a2a_client(binding, key=KEY_A, streaming=True)`: the official client, from the card."""
    opened: list[httpx.AsyncClient] = []

    async def make(binding: str, *, key: str = KEY_A, streaming: bool = True) -> Client:
        http = http_client(app, key)
        opened.append(http)
        config = ClientConfig(
            httpx_client=http, streaming=streaming, supported_protocol_bindings=[binding]
        )
        return await create_client(BASE_URL, config)

    yield make
    for http in opened:
        await http.aclose()
