"""Circuit breakers per provider and model, and fallback through an agent's chain —
streaming included, where a fallback is only possible before the first token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from pulse_agent_adapter.domain.llm import LlmCall
from pulse_agent_adapter.domain.llm_errors import LlmBusy, ProviderFailed, UnknownAgent
from pulse_agent_adapter.llm import LlmAssembly
from pulse_contracts import ChatMessage, ErrorCode
from pulse_resilience import BreakerState
from pulse_stack.llm_stub import Fault, StubLlmServer

GatewayFactory = Callable[..., LlmAssembly]


def call(text: str, agent: str = "primary", **fields: object) -> LlmCall:
    return LlmCall(
        messages=(ChatMessage(role="user", content=text),),
        agent=agent,
        **fields,  # type: ignore[arg-type]
    )


def sent_to(stub: StubLlmServer, model: str) -> int:
    return sum(1 for r in stub.llm.requests if r.model == model)


async def test_breaker_opens_probes_and_closes_again(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    registry = CollectorRegistry()
    assembly = make_gateway(
        {
            "primary": {"provider": "stub", "model": "gpt-flaky", "fallback": ["backup"]},
            "backup": {"provider": "stub-anthropic", "model": "claude-3-5-haiku-latest"},
        },
        registry=registry,
        llm_max_retries=0,
        llm_breaker_failures=2,
        # Long enough that the call made while open cannot turn into a probe on a busy machine.
        llm_breaker_cool_down_s=2.0,
        llm_cache=False,
    )
    gateway = assembly.gateway
    breaker = assembly.gateway._gate.lane("stub").breaker("gpt-flaky")

    def gauge() -> float | None:
        return registry.get_sample_value(
            "pulse_circuit_breaker_state", {"breaker": "stub/gpt-flaky"}
        )

    stub.llm.down.add("gpt-flaky")
    for i in range(2):  # two consecutive failures open it; each call is still answered
        done = await gateway.complete(call(f"q{i}"))
        assert done.agent == "backup"
    assert breaker.state is BreakerState.OPEN
    assert gauge() == 2
    before = sent_to(stub, "gpt-flaky")
    done = await gateway.complete(call("while open"))
    assert done.agent == "backup"
    assert sent_to(stub, "gpt-flaky") == before  # refused without a request

    await asyncio.sleep(2.1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert gauge() == 1
    await gateway.complete(call("probe fails"))  # the probe reaches the provider, fails
    assert sent_to(stub, "gpt-flaky") == before + 1
    assert breaker.state is BreakerState.OPEN

    stub.llm.down.clear()
    await asyncio.sleep(2.1)
    done = await gateway.complete(call("probe succeeds"))
    assert done.agent == "primary"
    assert breaker.state is BreakerState.CLOSED
    assert gauge() == 0
    fallbacks = registry.get_sample_value(
        "pulse_llm_fallbacks_total",
        {"agent": "primary", "provider": "stub", "reason": "breaker_open"},
    )
    assert fallbacks == 1


async def test_breakers_are_per_model(stub: StubLlmServer, make_gateway: GatewayFactory) -> None:
    assembly = make_gateway(
        {
            "primary": {"provider": "stub", "model": "gpt-flaky"},
            "other": {"provider": "stub", "model": "gpt-4o-mini"},
        },
        llm_max_retries=0,
        llm_breaker_failures=1,
        llm_cache=False,
    )
    stub.llm.down.add("gpt-flaky")
    with pytest.raises(ProviderFailed):
        await assembly.gateway.complete(call("x"))
    with pytest.raises(LlmBusy, match="circuit stub/gpt-flaky is open"):
        await assembly.gateway.complete(call("y"))
    done = await assembly.gateway.complete(call("z", agent="other"))
    assert done.provider == "stub"


async def test_fallback_walks_the_chain_in_order(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        {
            "primary": {"provider": "stub", "model": "gpt-down", "fallback": ["limited", "last"]},
            "limited": {"provider": "stub", "model": "gpt-limited"},
            "last": {"provider": "stub-anthropic", "model": "claude-3-5-haiku-latest"},
        },
        llm_max_retries=1,
        llm_cache=False,
    ).gateway
    stub.llm.down.add("gpt-down")
    stub.llm.fail("gpt-limited", Fault(status=429, retry_after="60"))
    started = time.monotonic()
    done = await gateway.complete(call("hello", timeout_s=10))
    assert (done.agent, done.provider) == ("last", "stub-anthropic")
    assert done.text == "Stub answer to: hello"
    # gpt-down tried twice (one retry), gpt-limited once (its Retry-After is past the
    # deadline, so no wait), then the last agent.
    assert [r.model for r in stub.llm.requests] == [
        "gpt-down",
        "gpt-down",
        "gpt-limited",
        "claude-3-5-haiku-latest",
    ]
    assert time.monotonic() - started < 9  # never sat out the 60 s Retry-After


async def test_when_every_agent_fails_the_error_says_why(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        {
            "primary": {"provider": "stub", "model": "a", "fallback": ["second"]},
            "second": {"provider": "stub", "model": "b"},
        },
        llm_max_retries=0,
        llm_cache=False,
    ).gateway
    stub.llm.down.update({"a", "b"})
    with pytest.raises(ProviderFailed) as failed:
        await gateway.complete(call("x", run_id="run-1", step_id="s1"))
    info = failed.value.to_info()
    assert info.code is ErrorCode.PROVIDER_FAILED
    assert info.retryable
    assert (info.run_id, info.step_id) == ("run-1", "s1")
    assert "HTTP 503" in info.message
    assert "stub" in info.message
    with pytest.raises(UnknownAgent):
        await gateway.complete(call("x", agent="nobody"))


async def test_a_stream_falls_back_only_before_its_first_token(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        {
            "primary": {"provider": "stub", "model": "gpt-4o-mini", "fallback": ["backup"]},
            "backup": {"provider": "stub-anthropic", "model": "claude-3-5-haiku-latest"},
        },
        llm_cache=False,
    ).gateway
    # Cut before any text: the stream moves to the backup, the caller sees one answer.
    stub.llm.fail("gpt-4o-mini", Fault(cut_after_chunks=1))
    pieces = [p async for p in gateway.stream(call("tell me a story"))]
    assert "".join(pieces) == "Stub answer to: tell me a story"
    assert [r.model for r in stub.llm.requests][-1] == "claude-3-5-haiku-latest"

    # Cut after text was handed over: no fallback (the caller has half an answer).
    stub.llm.fail("gpt-4o-mini", Fault(cut_after_chunks=4))
    received: list[str] = []

    async def read_all() -> None:
        async for piece in gateway.stream(call("tell me another story")):
            received.append(piece)

    with pytest.raises(ProviderFailed, match="broke after it began"):
        await read_all()
    assert received
    assert "".join(received) != "Stub answer to: tell me another story"
    assert [r.model for r in stub.llm.requests][-1] == "gpt-4o-mini"


async def test_streaming_profiles_answer_through_complete_too(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        {
            "primary": {
                "provider": "stub-anthropic",
                "model": "claude-3-5-haiku-latest",
                "stream": True,
            }
        },
        llm_cache=False,
    ).gateway
    done = await gateway.complete(call("stream it"))
    assert done.text == "Stub answer to: stream it"
    assert done.usage.completion_tokens > 0
    assert done.usage.cost_usd > 0
    assert stub.llm.requests[-1].stream


async def test_a_batch_runs_concurrently_within_limits(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    stub.llm.latency_s = 0.3
    gateway = make_gateway(
        {"primary": {"provider": "stub", "model": "gpt-4o-mini"}},
        llm_cache=False,
        llm_batch_concurrency=8,
    ).gateway
    results = await gateway.batch([call(f"prompt {i}") for i in range(16)])
    assert [r.text for r in results if not isinstance(r, Exception)] == [
        f"Stub answer to: prompt {i}" for i in range(16)
    ]
    assert 1 < stub.llm.max_in_flight <= 8
