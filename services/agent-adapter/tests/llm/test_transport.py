"""Retries against a real server: Retry-After honoured, bursts of 503 ridden out, slow and
cut-off answers retried, and no pause that would end past the caller's deadline."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from pulse_agent_adapter.domain.llm import Deadline
from pulse_agent_adapter.llm.transport import (
    REDACTED,
    HttpTransport,
    ProviderError,
    RetryPolicy,
    TransportSettings,
    parse_retry_after,
    redact,
)
from pulse_resilience import Backoff
from pulse_stack.llm_stub import Fault, StubLlmServer

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}


def transport(
    stub: StubLlmServer,
    *,
    retries: int = 3,
    timeout_s: float = 5.0,
    initial_s: float = 0.05,
    retried: list[str] | None = None,
) -> HttpTransport:
    policy = RetryPolicy(
        max_retries=retries,
        backoff=Backoff(
            max_attempts=retries + 1,
            initial_delay_s=initial_s,
            multiplier=2.0,
            max_delay_s=1.0,
            jitter=0.5,
        ),
    )
    return HttpTransport(
        "stub",
        stub.openai_base_url,
        headers={},
        settings=TransportSettings(request_timeout_s=timeout_s, retry=policy),
        on_retry=(lambda _p, reason: retried.append(reason)) if retried is not None else None,
    )


def gaps(stub: StubLlmServer) -> list[float]:
    times = [r.at for r in stub.llm.requests]
    return [b - a for a, b in itertools.pairwise(times)]


async def test_retry_after_sets_the_pause_between_attempts(stub: StubLlmServer) -> None:
    retried: list[str] = []
    http = transport(stub, retried=retried)
    stub.llm.fail("m", Fault(status=429, retry_after="0.6"), Fault(status=429, retry_after="1.1"))
    answer = await http.post_json("/chat/completions", BODY, Deadline.after(20))
    assert answer["choices"][0]["message"]["content"] == "Stub answer to: hi"
    first, second = gaps(stub)
    # The pause is the server's, not the 50 ms back-off; generous upper bounds for a busy box.
    assert 0.6 <= first < 0.6 + 1.0
    assert 1.1 <= second < 1.1 + 1.0
    assert retried == ["429", "429"]
    await http.aclose()


async def test_retry_after_as_an_http_date_and_in_milliseconds() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"Retry-After": "Tue, 14 Nov 2023 22:13:30 GMT"}, now) == 10.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


async def test_a_burst_of_503_is_ridden_out_with_growing_pauses(stub: StubLlmServer) -> None:
    http = transport(stub, retries=4, initial_s=0.1)
    stub.llm.fail("m", *[Fault(status=503)] * 4)
    await http.post_json("/chat/completions", BODY, Deadline.after(20))
    pauses = gaps(stub)
    assert len(pauses) == 4
    # Exponential with ±50% jitter: 0.1, 0.2, 0.4, 0.8 s nominal.
    for pause, nominal in zip(pauses, (0.1, 0.2, 0.4, 0.8), strict=True):
        assert nominal * 0.5 <= pause < nominal * 1.5 + 1.0
    await http.aclose()


async def test_too_many_failures_give_up_with_the_last_error(stub: StubLlmServer) -> None:
    http = transport(stub, retries=2)
    stub.llm.fail("m", *[Fault(status=503)] * 5)
    with pytest.raises(ProviderError) as failed:
        await http.post_json("/chat/completions", BODY, Deadline.after(20))
    assert failed.value.status == 503
    assert failed.value.retryable
    assert len(stub.llm.requests) == 3
    await http.aclose()


async def test_a_client_error_is_not_retried(stub: StubLlmServer) -> None:
    http = transport(stub)
    stub.llm.fail("m", Fault(status=400))
    with pytest.raises(ProviderError) as failed:
        await http.post_json("/chat/completions", BODY, Deadline.after(20))
    assert failed.value.status == 400
    assert not failed.value.retryable
    assert len(stub.llm.requests) == 1
    await http.aclose()


async def test_a_slow_answer_times_out_and_is_retried(stub: StubLlmServer) -> None:
    retried: list[str] = []
    http = transport(stub, timeout_s=0.3, retried=retried)
    stub.llm.fail("m", Fault(delay_s=2.0))
    answer = await http.post_json("/chat/completions", BODY, Deadline.after(20))
    assert answer["choices"]
    assert retried == ["timeout"]
    await http.aclose()


async def test_a_body_cut_off_midway_is_retried(stub: StubLlmServer) -> None:
    retried: list[str] = []
    http = transport(stub, retried=retried)
    stub.llm.fail("m", Fault(cut_after_chunks=1))
    answer = await http.post_json("/chat/completions", BODY, Deadline.after(20))
    assert answer["choices"]
    assert retried == ["connection"]
    await http.aclose()


async def test_a_retry_after_past_the_deadline_fails_at_once_with_the_hint(
    stub: StubLlmServer,
) -> None:
    http = transport(stub)
    stub.llm.fail("m", Fault(status=429, retry_after="30"))
    started = time.monotonic()
    with pytest.raises(ProviderError) as failed:
        await http.post_json("/chat/completions", BODY, Deadline.after(3))
    assert time.monotonic() - started < 2.5
    assert failed.value.retry_after_s == 30
    assert len(stub.llm.requests) == 1
    await http.aclose()


async def test_every_attempt_fits_inside_the_deadline(stub: StubLlmServer) -> None:
    http = transport(stub, timeout_s=10.0)
    stub.llm.fail("m", Fault(delay_s=5.0))
    started = time.monotonic()
    with pytest.raises(ProviderError, match="timed out"):
        await http.post_json("/chat/completions", BODY, Deadline.after(0.5))
    assert time.monotonic() - started < 2.0
    await http.aclose()


async def test_streams_are_retried_until_their_status_line(stub: StubLlmServer) -> None:
    http = transport(stub)
    stub.llm.fail("m", Fault(status=503), Fault(status=429, retry_after="0.2"))
    async with http.stream("/chat/completions", {**BODY, "stream": True}, Deadline.after(20)) as r:
        lines = [line async for line in r.aiter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert len(stub.llm.requests) == 3
    await http.aclose()


# --- what a provider's error may echo ---------------------------------------------------------


def test_redact_removes_given_secrets_and_anything_shaped_like_a_key() -> None:
    text = "Incorrect API key provided: sk-proj-****abcd1234. Authorization: Bearer abc.def"
    cleaned = redact(text, ["my-own-secret-value"])
    assert "sk-proj" not in cleaned
    assert "abc.def" not in cleaned
    assert cleaned.count(REDACTED) == 2
    assert redact("key my-own-secret-value leaked", ["my-own-secret-value"]) == (
        f"key {REDACTED} leaked"
    )
    assert redact("HTTP 503: stub 503") == "HTTP 503: stub 503"  # ordinary text is kept


async def test_an_error_body_echoing_the_key_is_scrubbed_before_it_is_reported() -> None:
    key = "gw-private-7f3a9c1e5b"  # not key-shaped: only knowing the header catches it

    def refuse(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(401, json={"error": {"message": f"key {sent} is not valid"}})

    client = httpx.AsyncClient(
        base_url="http://provider.invalid",
        headers={"authorization": f"Bearer {key}"},
        transport=httpx.MockTransport(refuse),
    )
    http = HttpTransport(
        "p",
        "http://provider.invalid",
        headers={"authorization": f"Bearer {key}"},
        settings=TransportSettings(),
        client=client,
    )
    with pytest.raises(ProviderError) as refused:
        await http.post_json("/chat/completions", BODY, Deadline.after(5))
    await http.aclose()
    assert refused.value.status == 401
    assert key not in str(refused.value)
    assert REDACTED in refused.value.message
