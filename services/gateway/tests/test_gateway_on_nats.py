"""The real gateway (lifespan, broker, KV bucket, uvicorn) against a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from pulse_contracts import RunRequested, RunState, RunStatus, StepState, StepStatus, subjects
from pulse_gateway import Settings, create_app
from pulse_stack.servers import EmbeddedNats
from pulse_stack.testing import serving as serving_app
from pulse_telemetry import setup_telemetry

pytestmark = pytest.mark.nats

AUTH = {"Authorization": "Bearer nats-test-key"}


@dataclass
class LiveGateway:
    http: httpx.AsyncClient
    spans: InMemorySpanExporter


@asynccontextmanager
async def serving(nats_url: str) -> AsyncIterator[LiveGateway]:
    """The app as `main()` runs it: uvicorn with the lifespan on, on a free loopback port."""
    settings = Settings(
        nats_url=nats_url,
        api_keys={"nats-test-key": "tenant-n"},
        log_format="text",
        retry_after_s=3,
    )
    spans = InMemorySpanExporter()
    telemetry = setup_telemetry(settings, install_global=False)
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    app = create_app(settings, telemetry=telemetry)
    async with (
        serving_app(app) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        yield LiveGateway(http, spans)


@pytest.fixture
async def gateway(nats_url: str) -> AsyncIterator[LiveGateway]:
    async with serving(nats_url) as live:
        yield live


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def _requested_messages(js: JetStreamContext) -> list[tuple[RunRequested, dict[str, str]]]:
    info = await js.stream_info(subjects.STREAM_RUNS)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        raw = await js.get_msg(subjects.STREAM_RUNS, seq)
        if raw.subject == subjects.RUNS_REQUESTED:
            assert raw.data is not None
            found.append((RunRequested.model_validate_json(raw.data), dict(raw.headers or {})))
    return found


async def test_post_stores_the_run_and_publishes_exactly_one_traced_request(
    gateway: LiveGateway, js: JetStreamContext
) -> None:
    response = await gateway.http.post(
        "/v1/runs", json={"prompt": "add 2 and 3", "metadata": {"via": "test"}}, headers=AUTH
    )
    assert response.status_code == 202, response.text
    body = response.json()
    run_id, trace_id = body["run_id"], body["trace_id"]

    kv = await js.key_value(subjects.KV_RUN_STATE)
    entry = await kv.get(run_id)
    assert entry.value is not None
    state = RunState.model_validate_json(entry.value)
    assert state.status is RunStatus.SUBMITTED
    assert (state.tenant, state.prompt, state.metadata) == (
        "tenant-n",
        "add 2 and 3",
        {"via": "test"},
    )
    assert state.trace_id == trace_id

    [(message, headers)] = await _requested_messages(js)
    assert message.run_id == run_id
    assert message.message_id == f"run:{run_id}:requested"
    assert headers["Nats-Msg-Id"] == message.message_id
    assert headers["traceparent"].split("-")[1] == trace_id
    assert f"run_id={run_id}" in headers["baggage"]
    assert "tenant=tenant-n" in headers["baggage"]

    # The HTTP server span is the root; the NATS publish is its child.
    finished = gateway.spans.get_finished_spans()
    [server_span] = [s for s in finished if s.kind is SpanKind.SERVER]
    assert server_span.parent is None
    assert format(server_span.context.trace_id, "032x") == trace_id
    # FastStream traces a publish as "create" (child of the request) then "publish";
    # the message carries the context of one of them, so the planner joins this trace.
    producers = {s.context.span_id: s for s in finished if s.kind is SpanKind.PRODUCER}
    assert {s.name for s in producers.values()} >= {f"{subjects.RUNS_REQUESTED} publish"}
    assert all(s.context.trace_id == server_span.context.trace_id for s in producers.values())
    assert any(
        s.parent is not None and s.parent.span_id == server_span.context.span_id
        for s in producers.values()
    )
    assert int(headers["traceparent"].split("-")[2], 16) in producers


async def test_the_same_idempotency_key_gives_the_same_run_and_one_message(
    gateway: LiveGateway, js: JetStreamContext
) -> None:
    payload = {"prompt": "once only", "idempotency_key": "invoice-7"}
    first = await gateway.http.post("/v1/runs", json=payload, headers=AUTH)
    second = await gateway.http.post("/v1/runs", json=payload, headers=AUTH)
    assert first.status_code == second.status_code == 202
    assert first.json()["run_id"] == second.json()["run_id"]
    assert first.json()["trace_id"] == second.json()["trace_id"]
    messages = await _requested_messages(js)
    assert [m.run_id for m, _ in messages] == [first.json()["run_id"]]


async def test_get_reads_the_run_state_the_executor_writes(
    gateway: LiveGateway, js: JetStreamContext
) -> None:
    run_id = (await gateway.http.post("/v1/runs", json={"prompt": "p"}, headers=AUTH)).json()[
        "run_id"
    ]
    kv = await js.key_value(subjects.KV_RUN_STATE)
    entry = await kv.get(run_id)
    assert entry.value is not None
    assert entry.revision is not None
    state = RunState.model_validate_json(entry.value)
    state.status = RunStatus.COMPLETED
    state.result = {"answer": 5}
    state.steps = {
        "s1": StepState(step_id="s1", tool="calculator", status=StepStatus.COMPLETED, output=5)
    }
    await kv.update(run_id, state.model_dump_json().encode(), last=entry.revision)

    view = (await gateway.http.get(f"/v1/runs/{run_id}", headers=AUTH)).json()
    assert view["status"] == "completed"
    assert view["result"] == {"answer": 5}
    assert [(s["step_id"], s["output"]) for s in view["steps"]] == [("s1", 5)]
    missing = await gateway.http.get(f"/v1/runs/{'f' * 32}", headers=AUTH)
    assert missing.status_code == 404


async def test_probes_and_metrics(gateway: LiveGateway) -> None:
    assert (await gateway.http.get("/healthz")).status_code == 200
    ready = await gateway.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    await gateway.http.post("/v1/runs", json={"prompt": "p"}, headers=AUTH)
    metrics = (await gateway.http.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/v1/runs",status="202"} 1.0' in metrics


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def test_nats_down_is_503_with_retry_after_and_it_recovers(tmp_path: Path) -> None:
    # A private server: this test stops it, which must not disturb the shared one.
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    try:
        async with serving(server.url) as gateway:
            created = await gateway.http.post("/v1/runs", json={"prompt": "p"}, headers=AUTH)
            assert created.status_code == 202
            run_id = created.json()["run_id"]

            server.stop()

            async def not_ready() -> bool:
                return (await gateway.http.get("/readyz")).status_code == 503

            await _eventually(not_ready)
            down = await gateway.http.post("/v1/runs", json={"prompt": "p"}, headers=AUTH)
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            assert down.headers["retry-after"] == "3"
            assert (await gateway.http.get(f"/v1/runs/{run_id}", headers=AUTH)).status_code == 503

            server.start()

            async def ready() -> bool:
                return (await gateway.http.get("/readyz")).status_code == 200

            await _eventually(ready)
            again = await gateway.http.get(f"/v1/runs/{run_id}", headers=AUTH)
            assert again.status_code == 200
            assert (
                await gateway.http.post("/v1/runs", json={"prompt": "p"}, headers=AUTH)
            ).status_code == 202
    finally:
        server.stop()
