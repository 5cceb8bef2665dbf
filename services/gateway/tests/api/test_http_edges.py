"""The HTTP API's edges over in-memory adapters: 503/500 problems, body limits, security
headers, probes, metrics and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import InMemoryRunPublisher, InMemoryRunStore

PROBLEM = "application/problem+json"
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "instance"} <= body.keys()
    return dict(body)


def assert_secure(response: httpx.Response) -> None:
    for name, value in SECURITY.items():
        assert response.headers.get(name) == value, (name, response.status_code)


async def _create(
    client: httpx.AsyncClient, auth: dict[str, str], **body: object
) -> httpx.Response:
    return await client.post("/v1/runs", json={"prompt": "add 2 and 3", **body}, headers=auth)


# --- unavailability and unexpected errors --------------------------------------------------


async def test_an_unreachable_bus_is_503_with_retry_after(
    client: httpx.AsyncClient,
    auth_a: dict[str, str],
    store: InMemoryRunStore,
    publisher: InMemoryRunPublisher,
    settings: Settings,
) -> None:
    publisher.available = False
    response = await _create(client, auth_a)
    problem = assert_problem(response, 503)
    assert response.headers["retry-after"] == str(settings.retry_after_s)
    assert problem["trace_id"]
    assert_secure(response)

    store.available = False
    response = await client.get(f"/v1/runs/{'0' * 32}", headers=auth_a)
    assert_problem(response, 503)
    assert "retry-after" in response.headers


class ExplodingStore(InMemoryRunStore):
    async def create(self, state):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")


async def test_an_unexpected_error_is_a_500_problem_without_internals(
    settings: Settings,
    telemetry: object,
    publisher: InMemoryRunPublisher,
    auth_a: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(settings, telemetry=telemetry, store=ExplodingStore(), publisher=publisher)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        with caplog.at_level(logging.ERROR):
            response = await _create(client, auth_a)
    problem = assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert_secure(response)
    trace_id = problem["trace_id"]
    assert isinstance(trace_id, str)
    assert len(trace_id) == 32
    [record] = [r for r in caplog.records if r.name == "pulse_gateway.api.problems"]
    assert record.exc_info is not None
    assert "/v1/runs" in record.getMessage()


# --- limits, headers, operations -----------------------------------------------------------


async def test_bodies_over_the_limit_are_413_problems(
    client: httpx.AsyncClient,
    auth_a: dict[str, str],
    settings: Settings,
    publisher: InMemoryRunPublisher,
) -> None:
    too_big = b'{"prompt": "' + b"x" * settings.max_body_bytes + b'"}'
    response = await client.post(
        "/v1/runs", content=too_big, headers={**auth_a, "content-type": "application/json"}
    )
    problem = assert_problem(response, 413)
    assert problem["type"] == "urn:pulse:problem:content-too-large"
    assert_secure(response)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(8):
            yield b"x" * (settings.max_body_bytes // 4)

    response = await client.post(
        "/v1/runs", content=chunked(), headers={**auth_a, "content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)
    assert publisher.published == []


async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, auth_a: dict[str, str]
) -> None:
    for response in (
        await client.get("/healthz"),
        await client.get("/openapi.json"),
        await client.get("/no/such/route"),
        await client.delete("/v1/runs", headers=auth_a),
    ):
        assert_secure(response)
    assert_problem(await client.get("/no/such/route"), 404)
    assert_problem(await client.delete("/v1/runs", headers=auth_a), 405)


async def test_health_readiness_and_openapi(
    client: httpx.AsyncClient, store: InMemoryRunStore
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    store.available = False
    not_ready = await client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["failing"] == ["run_state"]
    spec = (await client.get("/openapi.json")).json()
    assert {"/v1/runs", "/v1/runs/{run_id}", "/healthz", "/readyz", "/metrics"} <= set(
        spec["paths"]
    )
    assert "CreateRun" in spec["components"]["schemas"]


async def test_metrics_count_requests_by_route_template_and_status(
    client: httpx.AsyncClient, auth_a: dict[str, str]
) -> None:
    run_id = (await _create(client, auth_a)).json()["run_id"]
    await client.get(f"/v1/runs/{run_id}", headers=auth_a)
    await client.post("/v1/runs", json={})
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/v1/runs",status="202"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/v1/runs/{run_id}",status="200"} 1.0' in text
    assert 'http_requests_total{method="POST",route="/v1/runs",status="401"} 1.0' in text
    assert "http_request_duration_seconds_bucket" in text
    assert run_id not in text


async def test_lifespan_warns_about_the_development_key(
    telemetry: object, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(log_format="json")
    assert settings.uses_development_key
    app: FastAPI = create_app(
        settings,
        telemetry=telemetry,  # type: ignore[arg-type]
        store=InMemoryRunStore(),
        publisher=InMemoryRunPublisher(),
    )
    with caplog.at_level(logging.WARNING):
        async with app.router.lifespan_context(app):
            pass
    assert any(
        r.levelno == logging.WARNING and "development API key" in r.getMessage()
        for r in caplog.records
    )
