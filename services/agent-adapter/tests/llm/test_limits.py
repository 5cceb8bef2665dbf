"""Load: a concurrency limit with a bounded queue, adaptive throttling from rate-limit
headers, and `busy` with a retry-after when work cannot be served within its deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from pulse_agent_adapter.domain.llm import LlmCall
from pulse_agent_adapter.domain.llm_errors import LlmBusy
from pulse_agent_adapter.llm import LlmAssembly
from pulse_agent_adapter.llm.transport import AdaptiveThrottle, ConcurrencyLimiter, Saturated
from pulse_agent_adapter.llm.transport.throttle import parse_reset_s
from pulse_contracts import ChatMessage
from pulse_stack.llm_stub import StubLlmServer

GatewayFactory = Callable[..., LlmAssembly]


def call(text: str, **fields: object) -> LlmCall:
    return LlmCall(messages=(ChatMessage(role="user", content=text),), **fields)  # type: ignore[arg-type]


async def test_limiter_admits_up_to_its_limit_then_queues_in_order() -> None:
    limiter = ConcurrencyLimiter("p", limit=2, max_queue=2)
    taken = [await limiter.acquire(1), await limiter.acquire(1)]
    order: list[int] = []

    async def wait(n: int) -> None:
        at = await limiter.acquire(5)
        order.append(n)
        limiter.release(at)

    waiters = [asyncio.create_task(wait(n)) for n in (1, 2)]
    await asyncio.sleep(0.05)
    assert limiter.waiting == 2
    assert order == []
    with pytest.raises(Saturated) as full:  # the queue is full: fail fast
        await limiter.acquire(5)
    assert full.value.retry_after_s > 0
    limiter.release(taken[0])
    limiter.release(taken[1])
    await asyncio.gather(*waiters)
    assert order == [1, 2]
    assert limiter.active == 0


async def test_a_wait_that_runs_out_is_saturated_and_leaves_no_trace() -> None:
    limiter = ConcurrencyLimiter("p", limit=1, max_queue=5)
    held = await limiter.acquire(1)
    started = time.monotonic()
    with pytest.raises(Saturated, match="no slot within"):
        await limiter.acquire(0.2)
    assert 0.15 < time.monotonic() - started < 2
    assert limiter.waiting == 0
    limiter.release(held)
    assert limiter.active == 0
    await limiter.acquire(0.1)  # the slot is free again


async def test_a_lower_limit_takes_effect_as_calls_finish() -> None:
    limiter = ConcurrencyLimiter("p", limit=4, max_queue=4)
    slots = [await limiter.acquire(1) for _ in range(4)]
    limiter.set_limit(1)
    for slot in slots[:3]:
        limiter.release(slot)
    with pytest.raises(Saturated):
        await limiter.acquire(0.05)
    limiter.set_limit(None)  # back to 4
    await limiter.acquire(0.05)


def test_reset_times_in_every_format() -> None:
    now = 1_700_000_000.0
    assert parse_reset_s("1s", now) == 1.0
    assert parse_reset_s("6m0s", now) == 360.0
    assert parse_reset_s("250ms", now) == 0.25
    assert parse_reset_s("2.5", now) == 2.5
    assert parse_reset_s(str(now + 7), now) == 7.0
    assert parse_reset_s("2023-11-14T22:13:30Z", now) == 10.0
    assert parse_reset_s("whenever", now) is None


def test_throttle_pauses_when_nothing_is_left_and_narrows_when_little_is() -> None:
    clock = [1000.0]
    throttle = AdaptiveThrottle(low_water=4, clock=lambda: clock[0])
    throttle.observe({"x-ratelimit-remaining-requests": "100", "x-ratelimit-reset-requests": "1s"})
    assert throttle.pause_s() == 0
    assert throttle.allowed_concurrency() is None
    throttle.observe({"x-ratelimit-remaining-requests": "2", "x-ratelimit-reset-requests": "3s"})
    assert throttle.allowed_concurrency() == 2
    throttle.observe(
        {"anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": "5"}
    )
    assert throttle.pause_s() == 5.0
    clock[0] += 6
    assert throttle.pause_s() == 0
    assert throttle.allowed_concurrency() is None


async def test_saturated_provider_answers_busy_with_a_retry_after(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    stub.llm.latency_s = 1.0
    gateway = make_gateway(
        {"default": {"provider": "stub", "model": "gpt-4o-mini"}},
        providers={
            "stub": {
                "kind": "openai",
                "base_url": stub.openai_base_url,
                "max_concurrency": 2,
                "max_queue": 1,
            }
        },
        llm_cache=False,
        llm_max_wait_s=5,
    ).gateway
    results = await asyncio.gather(
        *(gateway.complete(call(f"q{i}", timeout_s=10)) for i in range(5)), return_exceptions=True
    )
    busy = [r for r in results if isinstance(r, LlmBusy)]
    # 2 run, 1 waits its turn, 2 are refused at once (queue full) — nothing queues unbounded.
    assert len(busy) == 2, results
    assert all(b.retry_after_s > 0 and "retry after" in b.message for b in busy)
    assert len(stub.llm.requests) == 3
    assert stub.llm.max_in_flight == 2


async def test_work_waits_for_a_slot_within_its_deadline(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    stub.llm.latency_s = 0.5
    gateway = make_gateway(
        {"default": {"provider": "stub", "model": "gpt-4o-mini"}},
        providers={
            "stub": {"kind": "openai", "base_url": stub.openai_base_url, "max_concurrency": 1}
        },
        llm_cache=False,
    ).gateway
    first = asyncio.create_task(gateway.complete(call("first", timeout_s=10)))
    await asyncio.sleep(0.1)
    with pytest.raises(LlmBusy):  # its deadline ends before the slot frees up
        await gateway.complete(call("impatient", timeout_s=0.2))
    patient = await gateway.complete(call("patient", timeout_s=10))  # waits, then runs
    assert patient.text == "Stub answer to: patient"
    await first


async def test_a_used_up_rate_limit_pauses_new_calls_until_its_reset(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        {"default": {"provider": "stub", "model": "gpt-4o-mini"}}, llm_cache=False
    ).gateway
    stub.llm.ratelimit = (0, "1s")
    await gateway.complete(call("one"))
    stub.llm.ratelimit = None
    started = time.monotonic()
    await gateway.complete(call("two", timeout_s=10))
    assert time.monotonic() - started >= 0.8  # waited for the window to reset
    stub.llm.ratelimit = (0, "30s")
    await gateway.complete(call("three"))
    with pytest.raises(LlmBusy) as busy:  # the reset is past this call's deadline
        await gateway.complete(call("four", timeout_s=2))
    assert busy.value.retry_after_s > 20
