from __future__ import annotations

import pytest

from pulse_resilience import BreakerState, CircuitBreaker, CircuitOpen


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(
    clock: FakeClock, changes: list[tuple[BreakerState, BreakerState]] | None = None
) -> CircuitBreaker:
    return CircuitBreaker(
        "dep",
        failure_threshold=3,
        cool_down_s=10.0,
        clock=clock,
        on_change=None if changes is None else lambda old, new: changes.append((old, new)),
    )


def test_full_cycle_closed_open_half_open_closed() -> None:
    clock = FakeClock()
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker = make(clock, changes)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_after_s() == pytest.approx(10.0)
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one probe at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0
    assert changes == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_failed_probe_opens_again_for_a_new_cool_down() -> None:
    clock = FakeClock()
    breaker = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after_s() == pytest.approx(10.0)
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN


def test_success_resets_the_consecutive_count() -> None:
    breaker = make(FakeClock())
    for _ in range(10):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


async def test_call_refuses_while_open_and_counts_only_failures_that_matter() -> None:
    clock = FakeClock()
    breaker = make(clock)
    calls = 0

    async def boom() -> int:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    async def bad_input() -> int:
        raise ValueError("caller's fault")

    for _ in range(5):
        with pytest.raises(ValueError, match="caller's fault"):
            await breaker.call(bad_input, is_failure=lambda e: not isinstance(e, ValueError))
    assert breaker.consecutive_failures == 0
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await breaker.call(boom)
    with pytest.raises(CircuitOpen) as refused:
        await breaker.call(boom)
    assert calls == 3
    assert refused.value.retry_after_s == pytest.approx(10.0)

    async def ok() -> int:
        return 7

    clock.now += 10
    assert await breaker.call(ok) == 7
    assert breaker.state is BreakerState.CLOSED


async def test_a_probe_failing_on_the_callers_input_frees_the_slot() -> None:
    clock = FakeClock()
    breaker = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10

    async def bad_input() -> int:
        raise ValueError("caller's fault")

    with pytest.raises(ValueError, match="caller"):
        await breaker.call(bad_input, is_failure=lambda e: False)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()


def test_reset_and_argument_checks() -> None:
    breaker = make(FakeClock())
    for _ in range(3):
        breaker.record_failure()
    breaker.reset()
    assert breaker.state is BreakerState.CLOSED
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("x", failure_threshold=0)
    with pytest.raises(ValueError, match="cool_down_s"):
        CircuitBreaker("x", cool_down_s=-1)
    with pytest.raises(ValueError, match="half_open_probes"):
        CircuitBreaker("x", half_open_probes=0)
