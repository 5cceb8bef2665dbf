from __future__ import annotations

import random

import pytest

from pulse_resilience import Backoff, retry


def test_delays_grow_exponentially_and_are_capped() -> None:
    backoff = Backoff(max_attempts=10, initial_delay_s=0.5, multiplier=2, max_delay_s=3, jitter=0)
    assert [backoff.delay_s(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.base_delay_s(10_000) == 3  # no overflow


def test_jitter_stays_within_its_spread() -> None:
    backoff = Backoff(initial_delay_s=1.0, jitter=0.2)
    rng = random.Random(7)
    delays = [backoff.delay_s(1, rng) for _ in range(500)]
    assert all(0.8 <= d <= 1.2 for d in delays)
    assert max(delays) - min(delays) > 0.2  # it really spreads


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"initial_delay_s": -1},
        {"multiplier": 0.5},
        {"jitter": 1.5},
    ],
)
def test_invalid_backoff(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Backoff(**kwargs)  # type: ignore[arg-type]


async def test_retry_until_success_with_the_backoff_schedule() -> None:
    slept: list[float] = []
    attempts = 0

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise TimeoutError
        return "ok"

    backoff = Backoff(max_attempts=5, initial_delay_s=1, jitter=0)
    result = await retry(flaky, backoff, retryable=lambda e: True, sleep=sleep)
    assert result == "ok"
    assert slept == [1, 2]


async def test_retry_gives_up_and_raises_the_last_error() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def down() -> str:
        raise ConnectionError("still down")

    with pytest.raises(ConnectionError, match="still down"):
        await retry(down, Backoff(max_attempts=3, jitter=0), retryable=lambda e: True, sleep=sleep)
    assert len(slept) == 2


async def test_not_retryable_raises_at_once_and_hints_override_the_delay() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def refuse() -> str:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        await retry(refuse, Backoff(), retryable=lambda e: False, sleep=sleep)
    assert slept == []

    class Busy(Exception):
        retry_after_s = 42.0

    async def busy() -> str:
        raise Busy

    with pytest.raises(Busy):
        await retry(
            busy,
            Backoff(max_attempts=3, max_delay_s=30),
            retryable=lambda e: True,
            delay_hint_s=lambda e: getattr(e, "retry_after_s", None),
            sleep=sleep,
        )
    assert slept == [30, 30]  # Retry-After honoured, capped by max_delay_s
