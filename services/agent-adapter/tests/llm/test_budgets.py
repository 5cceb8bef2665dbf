"""Per-tenant budgets: reserve before a call, settle after, atomically in JetStream KV —
so however many calls run at once, on however many replicas, the budget is never overspent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import nats
import pytest

from pulse_agent_adapter.domain.llm import LlmCall
from pulse_agent_adapter.domain.llm_errors import BudgetExceeded
from pulse_agent_adapter.llm import LlmAssembly
from pulse_agent_adapter.llm.accounting import (
    BudgetAccount,
    BudgetPolicy,
    NatsKvBudgetLedger,
    period_key,
)
from pulse_broker import ensure_kv
from pulse_contracts import ChatMessage, ErrorCode, Usage, subjects
from pulse_settings import ServiceSettings
from pulse_stack.llm_stub import StubLlmServer

GatewayFactory = Callable[..., LlmAssembly]
POLICY = BudgetPolicy(limit_usd=10.0, period="month")


def test_reservations_count_against_the_limit_until_settled() -> None:
    account = BudgetAccount(tenant="acme", period="2026-11", limit_usd=1.0)
    account = account.reserving("a", 0.6, now=0)
    with pytest.raises(BudgetExceeded, match="acme"):
        account.reserving("b", 0.5, now=0)
    account = account.settling("a", Usage(prompt_tokens=10, completion_tokens=5, cost_usd=0.1))
    assert (account.spent_usd, account.reserved_usd, account.calls) == (0.1, 0, 1)
    account = account.reserving("b", 0.5, now=0)
    assert account.available_usd == pytest.approx(0.4)
    assert account.reserving("b", 0.5, now=0) is account  # idempotent per reservation


def test_unsettled_reservations_lapse() -> None:
    account = BudgetAccount(tenant="acme", period="total", limit_usd=1.0).reserving("a", 1.0, 0)
    assert account.expiring(now=599, ttl_s=600).reserved_usd == 1.0
    assert account.expiring(now=601, ttl_s=600).reserved_usd == 0


def test_periods() -> None:
    now = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
    assert [period_key(p, now) for p in ("day", "month", "total")] == [
        "2026-11-21",
        "2026-11",
        "total",
    ]


@pytest.mark.nats
async def test_fifty_concurrent_reservations_on_two_replicas_never_overspend(
    nats_url: str,
) -> None:
    connections = [await nats.connect(nats_url) for _ in range(2)]
    try:
        kvs = [
            await ensure_kv(nc.jetstream(), subjects.KV_LLM_BUDGETS, ServiceSettings())
            for nc in connections
        ]
        replicas = [NatsKvBudgetLedger(kv) for kv in kvs]

        async def reserve(i: int) -> bool:
            try:
                await replicas[i % 2].reserve("acme", POLICY, f"r{i}", 1.0)
            except BudgetExceeded:
                return False
            return True

        granted = await asyncio.gather(*(reserve(i) for i in range(50)))
        assert sum(granted) == 10
        account = await replicas[0].account("acme", POLICY)
        assert account is not None
        assert account.reserved_usd == 10.0
        assert len(account.reservations) == 10

        async def settle(i: int) -> None:
            await replicas[i % 2].settle("acme", POLICY, f"r{i}", Usage(cost_usd=0.25))

        await asyncio.gather(*(settle(i) for i, ok in enumerate(granted) if ok))
        account = await replicas[1].account("acme", POLICY)
        assert account is not None
        assert (account.spent_usd, account.reserved_usd, account.calls) == (2.5, 0, 10)
    finally:
        for nc in connections:
            await nc.close()


@pytest.mark.nats
async def test_fifty_concurrent_calls_stay_within_the_tenants_budget(
    stub: StubLlmServer, make_gateway: GatewayFactory, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        kv = await ensure_kv(nc.jetstream(), subjects.KV_LLM_BUDGETS, ServiceSettings())
        ledger = NatsKvBudgetLedger(kv)
        stub.llm.latency_s = 0.2
        limit = 0.1
        gateway = make_gateway(
            {
                "default": {
                    "provider": "stub",
                    "model": "gpt-4o-mini",
                    "max_tokens": 20,
                    "prices": {"prompt_per_1k_usd": 1.0, "completion_per_1k_usd": 1.0},
                }
            },
            budgets={"acme": {"limit_usd": limit, "period": "month"}},
            ledger=ledger,
            llm_cache=False,
            llm_max_concurrency=64,
        ).gateway

        async def one(i: int) -> float | None:
            try:
                done = await gateway.complete(
                    LlmCall(
                        messages=(ChatMessage(role="user", content=f"prompt number {i}"),),
                        tenant="acme",
                    )
                )
            except BudgetExceeded as exc:
                refusals.append(exc.to_info().code)
                return None
            return done.usage.cost_usd

        spent_here = 0.0
        successes = 0
        refusals: list[ErrorCode] = []
        for wave in range(10):  # waves of 50 concurrent calls until the budget says no
            costs = await asyncio.gather(*(one(wave * 50 + i) for i in range(50)))
            paid = [c for c in costs if c is not None]
            successes += len(paid)
            spent_here += sum(paid)
            account = await ledger.account("acme", BudgetPolicy(limit_usd=limit))
            assert account is not None
            assert account.spent_usd <= limit  # after every wave, never over
            if not paid:
                break
        assert successes >= 3
        assert refusals
        assert set(refusals) == {ErrorCode.BUDGET_EXCEEDED}
        assert account.spent_usd == pytest.approx(spent_here)
        assert account.reservations == {}
        assert account.calls == successes
        # Other tenants have no budget configured: unlimited, and no ledger writes.
        done = await gateway.complete(
            LlmCall(messages=(ChatMessage(role="user", content="free"),), tenant="globex")
        )
        assert done.usage.cost_usd > 0
        assert await ledger.account("globex", BudgetPolicy(limit_usd=limit)) is None
    finally:
        await nc.close()
