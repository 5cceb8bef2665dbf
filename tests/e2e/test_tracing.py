"""One trace per run, across the five real service processes, checked edge by edge.

The services export over OTLP/gRPC here (the other e2e modules use OTLP/HTTP). The
agent-adapter calls a real HTTP LLM provider — `pulse_stack.llm_stub` speaking the OpenAI
wire format, with `max_retries: 0` — so the provider call is a span of the trace too, and
a fault queued on the stub makes a step fail once and be retried after its back-off through
a `PULSE_TIMERS` schedule: the retry must still join the run's trace.

The expected tree is data: `(parent service, parent span name, child service, child span
name)`, names as regular expressions matched in full. A new service or hop is one line.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import nats
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from pulse_client import PulseBus
from pulse_contracts import subjects
from pulse_stack.launcher import Stack
from pulse_stack.llm_stub import Fault, StubLlmServer
from pulse_stack.otlp_receiver import OtlpProtocol, OtlpReceiver, ReceivedSpan
from pulse_telemetry import inject_headers

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]

KEY_A = {"Authorization": "Bearer e2e-key-a"}
MODEL = "stub-chat-1"
TERMINAL = {"completed", "failed", "canceled", "rejected"}
OTLP_CLIENT = 3  # OTLP's SpanKind numbering (1 internal, 2 server, 3 client...)
OTLP_ERROR = 2  # OTLP's Status.StatusCode

Edge = tuple[str, str, str, str]

HTTP_ENTRY: list[Edge] = [
    ("gateway", r"POST /v1/runs", "gateway", r"pulse\.runs\.requested create"),
    ("gateway", r"pulse\.runs\.requested create", "planner", r"pulse\.runs\.requested process"),
]
PUBLISHER_ENTRY: list[Edge] = [
    ("publisher", r"publish run", "planner", r"pulse\.runs\.requested process"),
]
RUN: list[Edge] = [
    ("planner", r"pulse\.runs\.requested process", "planner", r"pulse\.plans\.created create"),
    ("planner", r"pulse\.plans\.created create", "executor", r"pulse\.plans\.created process"),
    ("executor", r"pulse\.plans\.created process", "executor", r"pulse\.tasks\.dispatch\.\S+ create"),
    ("executor", r"pulse\.tasks\.dispatch\.\S+ create", "agent-adapter", r"pulse\.tasks\.dispatch\.\S+ process"),
    ("agent-adapter", r"pulse\.tasks\.dispatch\.\S+ process", "agent-adapter", r"execute_tool llm\.complete"),
    ("agent-adapter", r"execute_tool llm\.complete", "agent-adapter", r"llm \S+"),
    ("agent-adapter", r"llm \S+", "agent-adapter", rf"chat {re.escape(MODEL)}"),
    ("agent-adapter", r"chat \S+", "agent-adapter", r"POST.*"),
    ("agent-adapter", r"pulse\.tasks\.dispatch\.\S+ process", "agent-adapter", r"pulse\.tasks\.result create"),
    ("agent-adapter", r"pulse\.tasks\.result create", "executor", r"pulse\.tasks\.result process"),
    ("executor", r"pulse\.tasks\.result process", "executor", r"pulse\.runs\.events\.\S+ create"),
    ("executor", r"pulse\.runs\.events\.\S+ create", "archiver", r"pulse\.runs\.events\.\S+ process"),
    ("archiver", r"pulse\.runs\.events\.\S+ process", "archiver", r"archive \d+ events"),
]  # fmt: skip
RETRY: list[Edge] = [
    ("executor", r"pulse\.tasks\.result process", "executor", r"pulse\.timers\.schedule\.\S+\.retry create"),
    ("executor", r"pulse\.timers\.schedule\.\S+\.retry create", "executor", r"pulse\.timers\.fired\.retry process"),
    ("executor", r"pulse\.timers\.fired\.retry process", "executor", r"pulse\.tasks\.dispatch\.\S+ create"),
]  # fmt: skip


class ThreadedLlmStub:
    """The stub LLM provider on an event loop of its own, so a module's stack can use it."""

    def __init__(self) -> None:
        self.server = StubLlmServer()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="llm-stub", daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            async with self.server:
                self._ready.set()
                await self._stop.wait()

        asyncio.run(serve())

    def __enter__(self) -> StubLlmServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the stub LLM provider did not start")
        return self.server

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


@pytest.fixture(scope="module")
def llm() -> Iterator[StubLlmServer]:
    with ThreadedLlmStub() as server:
        yield server


@pytest.fixture(scope="module")
def otlp_protocol() -> OtlpProtocol:
    return "grpc"


@pytest.fixture(scope="module")
def stack_env(llm: StubLlmServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    agents = tmp_path_factory.mktemp("agents") / "agents.yaml"
    document = {  # JSON is YAML
        "providers": {
            "stub": {"kind": "openai", "base_url": llm.openai_base_url, "max_retries": 0}
        },
        "agents": {"default": {"provider": "stub", "model": MODEL, "cache": False}},
    }
    agents.write_text(json.dumps(document))
    return {"PULSE_AGENTS_FILE": str(agents), "OPENAI_API_KEY": "sk-e2e-not-a-real-key"}


# --- the tree ----------------------------------------------------------------------------


def _is(span: ReceivedSpan, service: str, pattern: str) -> bool:
    return span.service == service and re.fullmatch(pattern, span.name) is not None


def _problems(spans: Sequence[ReceivedSpan], edges: Sequence[Edge]) -> list[str]:
    """What keeps `spans` from being one tree with every edge: empty when it is."""
    by_id = {s.span_id: s for s in spans}
    roots = [f"{s.service}: {s.name}" for s in spans if s.parent_span_id is None]
    problems = [] if len(roots) == 1 else [f"{len(roots)} roots: {roots}"]
    problems += [
        f"orphan {s.service}: {s.name}"
        for s in spans
        if s.parent_span_id is not None and s.parent_span_id not in by_id
    ]
    pairs = [(by_id[s.parent_span_id], s) for s in spans if s.parent_span_id in by_id]
    problems += [
        f"no edge {edge}"
        for edge in edges
        if not any(_is(p, *edge[:2]) and _is(c, *edge[2:]) for p, c in pairs)
    ]
    return problems


def _ancestors(span: ReceivedSpan, spans: Sequence[ReceivedSpan]) -> list[ReceivedSpan]:
    by_id = {s.span_id: s for s in spans}
    chain: list[ReceivedSpan] = []
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span)
    return chain


async def _complete_tree(
    otlp: OtlpReceiver, trace_id: str, edges: list[Edge]
) -> list[ReceivedSpan]:
    """The trace once it has every edge and no orphan, after the exporters went quiet;
    as it is after a minute otherwise (the assertions then say what is missing)."""
    deadline = asyncio.get_running_loop().time() + 60
    while _problems(otlp.trace(trace_id), edges):
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.25)
    await asyncio.to_thread(otlp.wait_for_quiet, trace_id, 1.0, 30.0)
    return otlp.trace(trace_id)


def _assert_run_tree(
    spans: list[ReceivedSpan],
    edges: list[Edge],
    root: tuple[str, str],
    run_id: str,
    llm: StubLlmServer,
) -> None:
    assert _problems(spans, edges) == []
    (top,) = [s for s in spans if s.parent_span_id is None]
    assert (top.service, top.name) == root
    assert {s.protocol for s in spans if s.service != "publisher"} == {"grpc"}
    # Every span a service made for this run says which run and tenant it worked for
    # (a batch write of several runs' events names none).
    for span in spans:
        if span.service == "publisher" or span.attributes.get("pulse.runs", "1") != "1":
            continue
        assert span.attributes.get("pulse.run_id") == run_id, span
        assert span.attributes.get("pulse.tenant") == "tenant-a", span

    chats = [s for s in spans if _is(s, "agent-adapter", rf"chat {re.escape(MODEL)}")]
    (chat, *_) = [s for s in chats if s.status_code != OTLP_ERROR]  # one answered
    assert chat.kind == OTLP_CLIENT
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == MODEL
    assert "pulse.cost_usd" in chat.attributes
    # The provider's HTTP request, made by the httpx instrumentation, to the stub.
    (http_call,) = [s for s in spans if s.parent_span_id == chat.span_id]
    assert http_call.kind == OTLP_CLIENT
    assert any(str(llm.port) in value for value in http_call.attributes.values()), http_call


async def _baggage_on_the_bus(stack: Stack, run_id: str) -> dict[str, str]:
    """The `baggage` header of the run's latest message on each hop JetStream keeps
    (requested, planned, and an event); the task streams are work queues, emptied on ack."""
    hops = {
        "gateway -> planner": (subjects.STREAM_RUNS, subjects.RUNS_REQUESTED),  # or publisher
        "planner -> executor": (subjects.STREAM_RUNS, subjects.PLANS_CREATED),
        "executor -> archiver": (subjects.STREAM_EVENTS, subjects.run_events_subject(run_id)),
    }
    nc = await nats.connect(str(stack.nats_url))
    try:
        js = nc.jetstream()
        found: dict[str, str] = {}
        for hop, (stream, subject) in hops.items():
            message = await js.get_last_msg(stream, subject)
            found[hop] = (message.headers or {}).get("baggage", "")
        return found
    finally:
        await nc.close()


# --- entry over HTTP ---------------------------------------------------------------------


async def _wait_http(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        response = await client.get(f"/v1/runs/{run_id}", headers=KEY_A)
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        if run["status"] in TERMINAL:
            return run
        assert asyncio.get_running_loop().time() < deadline, f"run stuck: {run}"
        await asyncio.sleep(0.2)


async def _wait_http_status(client: httpx.AsyncClient, run_id: str, status: str) -> dict[str, Any]:
    """Until the run is in `status` (a restarted run passes through a terminal one)."""
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        response = await client.get(f"/v1/runs/{run_id}", headers=KEY_A)
        run: dict[str, Any] = response.json()
        if run["status"] == status:
            return run
        assert asyncio.get_running_loop().time() < deadline, f"not {status}: {run}"
        await asyncio.sleep(0.2)


async def test_http_run_with_a_retried_step_is_one_tree(
    stack: Stack, otlp: OtlpReceiver, llm: StubLlmServer
) -> None:
    tag = secrets.token_hex(4)
    llm.llm.fail(MODEL, Fault(status=503))  # the first call fails; no provider retry
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        response = await client.post(
            "/v1/runs",
            json={"prompt": f"calculate 6 * 7, then ask the llm to explain tracing {tag}"},
            headers=KEY_A,
        )
        assert response.status_code == 202, response.text
        created = response.json()
        run = await _wait_http(client, created["run_id"])
    assert run["status"] == "completed", run
    llm_step = next(s for s in run["steps"] if s["tool"] == "llm.complete")
    assert llm_step["attempt"] == 2, llm_step

    # W3C baggage with the run and tenant rides on every hop, not only the first.
    for hop, value in (await _baggage_on_the_bus(stack, created["run_id"])).items():
        entries = set(value.split(","))
        assert {f"run_id={created['run_id']}", "tenant=tenant-a"} <= entries, (hop, value)

    spans = await _complete_tree(otlp, created["trace_id"], HTTP_ENTRY + RUN + RETRY)
    _assert_run_tree(
        spans, HTTP_ENTRY + RUN + RETRY, ("gateway", "POST /v1/runs"), created["run_id"], llm
    )
    assert {"gateway", "planner", "executor", "agent-adapter", "archiver"} <= {
        s.service for s in spans
    }
    # Both attempts ran in the run's trace; the second one was dispatched by the retry timer.
    attempts = {
        s.attributes["pulse.attempt"]: s
        for s in spans
        if _is(s, "agent-adapter", r"execute_tool llm\.complete")
    }
    assert set(attempts) == {"1", "2"}
    retried = _ancestors(attempts["2"], spans)
    assert any(_is(s, "executor", r"pulse\.timers\.fired\.retry process") for s in retried)
    failed_chats = [s for s in spans if s.name == f"chat {MODEL}" and s.status_code == OTLP_ERROR]
    assert len(failed_chats) == 1
    first = _ancestors(attempts["1"], spans)
    assert not any(_is(s, "executor", r"pulse\.timers\.fired\.retry process") for s in first)
    assert [s.name for s in spans].count("execute_tool calculator") == 1


async def test_steps_dispatched_by_a_restart_join_the_runs_trace(
    stack: Stack, otlp: OtlpReceiver, llm: StubLlmServer
) -> None:
    tag = secrets.token_hex(4)
    llm.llm.down.add(MODEL)  # every attempt fails: the run ends failed
    try:
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
            response = await client.post(
                "/v1/runs", json={"prompt": f"ask the llm to explain restarts {tag}"}, headers=KEY_A
            )
            assert response.status_code == 202, response.text
            created = response.json()
            failed = await _wait_http(client, created["run_id"])
            assert failed["status"] == "failed", failed
            llm.llm.down.discard(MODEL)
            # The restart is its own request, in a trace of its own; the work it resumes
            # belongs to the run and goes back into the run's trace (kept in run state).
            restart = await client.post(f"/v1/runs/{created['run_id']}/restart", headers=KEY_A)
            assert restart.status_code == 202, restart.text
            run = await _wait_http_status(client, created["run_id"], "completed")
    finally:
        llm.llm.down.discard(MODEL)

    spans = await _complete_tree(otlp, created["trace_id"], HTTP_ENTRY + RUN)
    _assert_run_tree(spans, HTTP_ENTRY + RUN, ("gateway", "POST /v1/runs"), created["run_id"], llm)
    [step] = run["steps"]
    attempts = {
        s.attributes["pulse.attempt"]: s
        for s in spans
        if _is(s, "agent-adapter", r"execute_tool llm\.complete")
    }
    assert set(attempts) == {str(n) for n in range(1, step["attempt"] + 1)}
    resumed = _ancestors(attempts[str(step["attempt"])], spans)
    assert any(_is(s, "executor", r"pulse\.plans\.created process") for s in resumed)
    assert not any(s.service == "gateway" and "restart" in s.name for s in spans)


# --- entry by publishing RunRequested with a traceparent ----------------------------------


async def test_published_run_is_one_tree_under_the_publishers_span(
    stack: Stack, otlp: OtlpReceiver, llm: StubLlmServer
) -> None:
    publisher = TracerProvider(resource=Resource.create({"service.name": "publisher"}))
    publisher.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=otlp.grpc_endpoint, insecure=True))
    )
    tag = secrets.token_hex(4)
    async with PulseBus(str(stack.nats_url)) as bus:
        with publisher.get_tracer("e2e").start_as_current_span(
            "publish run", kind=SpanKind.PRODUCER
        ):
            published = await bus.publish_run(
                f"ask the llm to explain baggage {tag}",
                tenant="tenant-a",
                traceparent=inject_headers()["traceparent"],
            )
        events = [event.type async for event in bus.follow(published.run_id, idle_timeout_s=60)]
    publisher.shutdown()
    assert events[-1] == "run.completed", events
    assert published.trace_id is not None

    # The publisher sent no baggage: the planner, where the run first arrives, adds it.
    hops = await _baggage_on_the_bus(stack, published.run_id)
    assert "run_id=" not in hops.pop("gateway -> planner")
    for hop, value in hops.items():
        entries = set(value.split(","))
        assert {f"run_id={published.run_id}", "tenant=tenant-a"} <= entries, (hop, value)

    spans = await _complete_tree(otlp, published.trace_id, PUBLISHER_ENTRY + RUN)
    _assert_run_tree(
        spans, PUBLISHER_ENTRY + RUN, ("publisher", "publish run"), published.run_id, llm
    )
    assert not any(s.service == "gateway" for s in spans)
