"""The gateway's metrics under the names agreed for issue 6, read from the registry after
real calls to the stub provider over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pulse_agent_adapter.domain.llm import LlmCall
from pulse_agent_adapter.domain.llm_errors import BudgetExceeded, ProviderFailed
from pulse_agent_adapter.llm import LlmAssembly
from pulse_agent_adapter.llm.accounting import BudgetPolicy, InMemoryBudgetLedger
from pulse_agent_adapter.llm.metrics import STAGES
from pulse_contracts import ChatMessage
from pulse_stack.llm_stub import StubLlmServer

GatewayFactory = Callable[..., LlmAssembly]

MODEL = "gpt-4o-mini"
PRICES = {"prompt_per_1k_usd": 1.0, "completion_per_1k_usd": 2.0}


def call(text: str, tenant: str = "acme") -> LlmCall:
    return LlmCall(messages=(ChatMessage(role="user", content=text),), tenant=tenant)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_request_duration_stages_and_cache_requests(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    registry = CollectorRegistry()
    gateway = make_gateway(
        {"default": {"provider": "stub", "model": MODEL}}, registry=registry
    ).gateway
    await gateway.complete(call("what is a DAG"))
    await gateway.complete(call("what is a DAG"))  # answered by the in-process cache

    assert (
        sample(registry, "pulse_llm_request_duration_seconds_count", provider="stub", model=MODEL)
        == 1
    )
    assert sample(registry, "pulse_cache_requests_total", layer="memory", result="miss") == 1
    assert sample(registry, "pulse_cache_requests_total", layer="memory", result="hit") == 1
    assert sample(registry, "pulse_llm_stage_seconds_count", stage="prompt_build") == 2
    assert sample(registry, "pulse_llm_stage_seconds_count", stage="llm_call") == 1
    assert sample(registry, "pulse_llm_stage_seconds_count", stage="post_process") == 2
    assert set(STAGES) == {"prompt_build", "llm_call", "post_process"}
    exposed = generate_latest(registry).decode()
    for old in ("pulse_llm_call_seconds", "pulse_llm_cache_lookups", "pulse_llm_breaker_state"):
        assert old not in exposed


async def test_breaker_gauge_is_labelled_provider_slash_model_from_its_first_use(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    registry = CollectorRegistry()
    gateway = make_gateway(
        {"default": {"provider": "stub", "model": "gpt-flaky"}},
        registry=registry,
        llm_max_retries=0,
        llm_breaker_failures=1,
        llm_breaker_cool_down_s=60,
        llm_cache=False,
    ).gateway
    await gateway.complete(call("fine"))
    assert sample(registry, "pulse_circuit_breaker_state", breaker="stub/gpt-flaky") == 0

    stub.llm.down.add("gpt-flaky")
    with pytest.raises(ProviderFailed):
        await gateway.complete(call("down"))
    assert sample(registry, "pulse_circuit_breaker_state", breaker="stub/gpt-flaky") == 2


async def test_budget_remaining_ratio_follows_what_a_tenant_spent(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    registry = CollectorRegistry()
    gateway = make_gateway(
        {"default": {"provider": "stub", "model": MODEL, "prices": PRICES, "max_tokens": 50}},
        budgets={"acme": {"limit_usd": 1.0}},
        registry=registry,
        llm_cache=False,
    ).gateway
    done = await gateway.complete(call("spend a little"))
    ratio = sample(registry, "pulse_llm_budget_remaining_ratio", tenant="acme")
    assert ratio == pytest.approx(1.0 - done.usage.cost_usd)
    assert ratio is not None
    assert ratio < 1.0

    await gateway.complete(call("no budget here", tenant="globex"))
    assert sample(registry, "pulse_llm_budget_remaining_ratio", tenant="globex") is None


async def test_budget_remaining_ratio_matches_the_ledger_up_to_the_refusal(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    registry = CollectorRegistry()
    ledger = InMemoryBudgetLedger()
    policy = BudgetPolicy(limit_usd=0.05)
    gateway = make_gateway(
        {"default": {"provider": "stub", "model": MODEL, "prices": PRICES, "max_tokens": 8}},
        budgets={"tiny": {"limit_usd": policy.limit_usd}},
        ledger=ledger,
        registry=registry,
        llm_cache=False,
    ).gateway
    calls = 0
    refused: BudgetExceeded | None = None
    while refused is None and calls < 100:
        try:
            await gateway.complete(call(f"call number {calls}", tenant="tiny"))
            calls += 1
        except BudgetExceeded as exc:
            refused = exc
    assert refused is not None
    account = await ledger.account("tiny", policy)
    assert account is not None
    assert account.calls == calls > 1
    ratio = sample(registry, "pulse_llm_budget_remaining_ratio", tenant="tiny")
    assert ratio == pytest.approx(account.remaining_ratio)
    assert ratio == pytest.approx(1 - account.spent_usd / policy.limit_usd)
    assert sample(registry, "pulse_llm_budget_refusals_total", tenant="tiny") == 1
