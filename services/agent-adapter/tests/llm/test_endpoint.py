"""The LLM endpoint on a real nats-server: `LlmRequested` in, `LlmResponded` out, with a
typed error for every failure and an answer before the caller's timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.config import Settings
from pulse_agent_adapter.domain.llm import CompletionService
from pulse_agent_adapter.llm import LlmAssembly
from pulse_agent_adapter.llm_endpoint import register_llm_endpoint
from pulse_broker import build_broker
from pulse_contracts import ChatMessage, ErrorCode, LlmRequested, LlmResponded, subjects
from pulse_stack.llm_stub import StubLlmServer
from pulse_telemetry import Telemetry

pytestmark = pytest.mark.nats

GatewayFactory = Callable[..., LlmAssembly]
AGENTS = {
    "default": {"provider": "stub", "model": "gpt-4o-mini"},
    "narrow": {"provider": "narrow", "model": "gpt-4o-mini"},
    "cheap": {
        "provider": "stub",
        "model": "gpt-4o-mini",
        "prices": {"prompt_per_1k_usd": 10.0, "completion_per_1k_usd": 10.0},
    },
}


@asynccontextmanager
async def endpoint(nats_url: str, llm: CompletionService) -> AsyncIterator[None]:
    settings = Settings(nats_url=nats_url, log_format="text")
    broker = build_broker(
        settings, Telemetry("agent-adapter", TracerProvider(), CollectorRegistry())
    )
    register_llm_endpoint(broker, llm)
    await broker.start()  # returns once the server has the endpoint's subscription
    try:
        yield
    finally:
        await broker.stop()


async def ask(
    nc: Client, timeout_s: float = 10.0, wait_s: float | None = None, **fields: object
) -> LlmResponded:
    request = LlmRequested.model_validate(
        {
            "message_id": "req-1",
            "messages": [{"role": "user", "content": "What is JetStream?"}],
            "timeout_s": timeout_s,
            **fields,
        }
    )
    reply = await nc.request(
        subjects.LLM_REQUESTS, request.model_dump_json().encode(), timeout=wait_s or timeout_s
    )
    return LlmResponded.model_validate_json(reply.data)


def gateway(
    stub: StubLlmServer, make_gateway: GatewayFactory, **settings: object
) -> CompletionService:
    narrow = {
        "kind": "openai",
        "base_url": stub.openai_base_url,
        "max_concurrency": 1,
        "max_queue": 0,
    }
    return make_gateway(AGENTS, providers={"narrow": narrow}, **settings).gateway


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


async def test_a_request_gets_its_completion(
    nats_url: str, nc: Client, stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    async with endpoint(nats_url, gateway(stub, make_gateway)):
        first = await ask(nc, tenant="acme", run_id="run-1", step_id="plan")
        again = await ask(nc, tenant="acme")
    assert first.error is None
    assert first.text == "Stub answer to: What is JetStream?"
    assert (first.provider, first.model, first.agent) == ("stub", "gpt-4o-mini", "default")
    assert first.request_id == "req-1"
    assert first.message_id == "req-1:response"
    assert first.usage.prompt_tokens > 0
    assert first.usage.cost_usd > 0
    assert not first.cached
    assert again.cached
    assert again.usage.cost_usd == 0
    assert stub.llm.requests[0].body["max_tokens"] == 512  # the request's own


async def test_failures_are_typed_errors(
    nats_url: str, nc: Client, stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    llm = gateway(
        stub,
        make_gateway,
        budgets={"poor": {"limit_usd": 0.001}},
        llm_max_retries=0,
        llm_cache=False,
    )
    async with endpoint(nats_url, llm):
        unknown = await ask(nc, agent="nobody")
        poor = await ask(nc, agent="cheap", tenant="poor")
        stub.llm.down.add("gpt-4o-mini")
        down = await ask(nc)
        bad = await nc.request(
            subjects.LLM_REQUESTS, b'{"messages": "confidential: not a list"}', timeout=10
        )
    assert unknown.error is not None
    assert unknown.error.code is ErrorCode.INVALID_MESSAGE
    assert "nobody" in unknown.error.message
    assert poor.error is not None
    assert poor.error.code is ErrorCode.BUDGET_EXCEEDED
    assert down.error is not None
    assert down.error.code is ErrorCode.PROVIDER_FAILED
    assert down.error.retryable
    assert down.text == ""
    assert down.finish_reason == "error"
    invalid = LlmResponded.model_validate_json(bad.data)
    assert invalid.error is not None
    assert invalid.error.code is ErrorCode.INVALID_MESSAGE
    # The reason names the field, never the content a caller might log.
    assert "messages: " in invalid.error.message
    assert "confidential" not in invalid.error.message


async def test_busy_comes_with_a_retry_after(
    nats_url: str, nc: Client, stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    stub.llm.latency_s = 1.5
    async with endpoint(nats_url, gateway(stub, make_gateway, llm_cache=False)):
        answers = await asyncio.gather(
            ask(nc, agent="narrow", message_id="a"), ask(nc, agent="narrow", message_id="b")
        )
    busy = [a for a in answers if a.error is not None]
    assert len(busy) == 1
    error = busy[0].error
    assert error is not None
    assert error.code is ErrorCode.BUSY
    assert error.retryable
    assert busy[0].retry_after_s is not None
    assert busy[0].retry_after_s > 0
    assert "retry after" in error.message


async def test_the_answer_comes_before_the_callers_timeout(
    nats_url: str, nc: Client, stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    stub.llm.latency_s = 30.0
    async with endpoint(nats_url, gateway(stub, make_gateway, llm_cache=False)):
        started = time.monotonic()
        # The caller gives up after 2 s; the endpoint answers a margin before that. Waiting
        # longer here keeps a stalled loop on a busy machine from failing the test, and the
        # bounds still tell the deadline's answer from the provider's (30 s away).
        late = await ask(nc, timeout_s=2.0, wait_s=10.0)
    assert 1.0 < time.monotonic() - started < 5.0
    assert late.error is not None
    assert late.error.retryable


async def test_replicas_share_requests_and_each_is_answered_once(
    nats_url: str, nc: Client, stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    stub.llm.latency_s = 0.05
    replicas = [gateway(stub, make_gateway, llm_cache=False) for _ in range(2)]
    async with endpoint(nats_url, replicas[0]), endpoint(nats_url, replicas[1]):
        inbox = nc.new_inbox()
        replies: list[bytes] = []

        async def collect(msg: Msg) -> None:
            replies.append(msg.data)

        sub = await nc.subscribe(inbox, cb=collect)
        for i in range(20):
            request = LlmRequested(
                message_id=f"r{i}",
                messages=[ChatMessage(role="user", content=f"q{i}")],
            )
            await nc.publish(subjects.LLM_REQUESTS, request.model_dump_json().encode(), reply=inbox)
        async with asyncio.timeout(20):
            while len(replies) < 20:  # noqa: ASYNC110 - replies arrive in a callback
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await sub.unsubscribe()
    ids = sorted(LlmResponded.model_validate_json(r).request_id for r in replies)
    assert ids == sorted(f"r{i}" for i in range(20))  # each once
    assert len(stub.llm.requests) == 20
