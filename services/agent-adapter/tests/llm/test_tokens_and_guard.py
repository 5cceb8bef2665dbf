"""Token counting before sending (tiktoken offline for OpenAI models, an estimate for the
rest) and the guard that makes a prompt fit its model's context, with a warning."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pulse_agent_adapter.domain.llm import ChatRequest, LlmCall
from pulse_agent_adapter.llm import LlmAssembly
from pulse_agent_adapter.llm.accounting import (
    EstimateCounter,
    PromptTooLarge,
    counter_for,
    fit_request,
    is_openai_model,
)
from pulse_contracts import ChatMessage
from pulse_stack.llm_stub import StubLlmServer

GatewayFactory = Callable[..., LlmAssembly]
LONG = " ".join(f"word{i}" for i in range(3000))  # ~ 9 000 tiktoken tokens


def msg(role: str, content: str) -> ChatMessage:
    return ChatMessage(role=role, content=content)  # type: ignore[arg-type]


def test_openai_models_are_counted_with_tiktoken_offline() -> None:
    counter = counter_for("openai", "gpt-4o-mini")
    assert counter.exact
    assert counter.count("hello world") == 2  # cl100k_base: "hello", " world"
    assert counter.count("<|endoftext|>") > 1  # special-token text is plain text here
    assert counter.truncate("one two three four", 2) == "one two"
    assert counter.truncate("one two three four", 2, keep="end") == " three four"
    assert counter.count_messages([msg("user", "hello world")]) == 2 + 3 + 3


def test_other_models_get_the_documented_estimate() -> None:
    for kind, model in (
        ("anthropic", "claude-3-5-haiku"),
        ("openai", "llama3:8b"),
        ("offline", "offline-1"),
    ):
        counter = counter_for(kind, model)
        assert not counter.exact
        assert counter.count("x" * 9) == 3
    assert is_openai_model("gpt-4.1-mini")
    assert is_openai_model("o3-mini")
    assert not is_openai_model("llama3")
    assert not is_openai_model("omni-7b")


def request(*messages: ChatMessage, max_tokens: int = 100) -> ChatRequest:
    return ChatRequest(messages=messages, model="m", max_tokens=max_tokens)


def test_a_prompt_that_fits_is_left_alone() -> None:
    original = request(msg("user", "short"))
    fitted = fit_request(original, context_window=1000, counter=EstimateCounter(), mode="truncate")
    assert fitted.requests == (original,)
    assert fitted.warnings == ()


def test_truncate_drops_old_turns_first_then_cuts_the_middle() -> None:
    counter = EstimateCounter()
    history = [msg("user" if i % 2 == 0 else "assistant", "x" * 400) for i in range(6)]
    fitted = fit_request(
        request(msg("system", "rules"), *history, msg("user", "the question")),
        context_window=400,
        counter=counter,
        mode="truncate",
    )
    (kept,) = fitted.requests
    assert fitted.warnings == ("history_truncated",)
    assert kept.messages[0].content == "rules"
    assert kept.messages[-1].content == "the question"
    assert counter.count_messages(kept.messages) <= 400 - 100

    text = "BEGIN " + "filler " * 2000 + " END?"
    fitted = fit_request(
        request(msg("system", "rules"), msg("user", text)),
        context_window=600,
        counter=counter,
        mode="truncate",
    )
    (kept,) = fitted.requests
    assert fitted.warnings == ("prompt_truncated",)
    cut = kept.messages[-1].content
    assert cut.startswith("BEGIN")
    assert cut.endswith("END?")
    assert "[…]" in cut
    assert counter.count_messages(kept.messages) <= 600 - 100


def test_truncate_with_tiktoken_keeps_within_the_window() -> None:
    counter = counter_for("openai", "gpt-4")
    fitted = fit_request(
        request(msg("user", LONG), max_tokens=500),
        context_window=2000,
        counter=counter,
        mode="truncate",
    )
    assert counter.count_messages(fitted.requests[0].messages) <= 1500
    assert fitted.prompt_tokens <= 1500


def test_split_sends_consecutive_parts_that_each_fit() -> None:
    counter = counter_for("openai", "gpt-4")
    fitted = fit_request(
        request(msg("system", "Summarise."), msg("user", LONG), max_tokens=500),
        context_window=2500,
        counter=counter,
        mode="split",
    )
    assert fitted.warnings == ("prompt_split",)
    assert len(fitted.requests) >= 4
    assert "".join(r.messages[-1].content for r in fitted.requests) == LONG
    for part in fitted.requests:
        assert part.messages[0].content == "Summarise."
        assert counter.count_messages(part.messages) <= 2000


def test_max_tokens_larger_than_the_window_is_lowered() -> None:
    fitted = fit_request(
        request(msg("user", "hi"), max_tokens=10_000),
        context_window=4000,
        counter=EstimateCounter(),
        mode="truncate",
    )
    assert fitted.requests[0].max_tokens == 3000
    assert fitted.warnings == ("max_tokens_reduced",)


def test_off_sends_as_is_and_an_oversized_system_prompt_cannot_fit() -> None:
    huge = request(msg("user", "x" * 10_000))
    assert fit_request(
        huge, context_window=500, counter=EstimateCounter(), mode="off"
    ).requests == (huge,)
    with pytest.raises(PromptTooLarge):
        fit_request(
            request(msg("system", "x" * 10_000), msg("user", "q")),
            context_window=500,
            counter=EstimateCounter(),
            mode="truncate",
        )


async def test_the_gateway_flags_a_truncated_prompt_and_a_split_one(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        {
            "default": {
                "provider": "stub",
                "model": "gpt-4",
                "context_window": 1500,
                "max_tokens": 200,
            },
            "splitter": {
                "provider": "stub",
                "model": "gpt-4",
                "context_window": 3000,
                "max_tokens": 200,
                "token_guard": "split",
            },
        },
        llm_cache=False,
    ).gateway
    done = await gateway.complete(LlmCall(messages=(msg("user", LONG),)))
    assert done.warnings == ("prompt_truncated",)
    sent = stub.llm.requests[-1].body["messages"][-1]["content"]
    assert counter_for("openai", "gpt-4").count(sent) < 1300
    before = len(stub.llm.requests)
    done = await gateway.complete(LlmCall(messages=(msg("user", LONG),), agent="splitter"))
    parts = len(stub.llm.requests) - before
    assert parts >= 3
    assert done.warnings == ("prompt_split",)
    assert done.text.count("Stub answer to:") == parts


async def test_a_prompt_too_large_for_one_model_falls_back_to_a_larger_one(
    stub: StubLlmServer, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        {
            "default": {
                "provider": "stub",
                "model": "gpt-small",
                "context_window": 300,
                "system_prompt": "x" * 2000,
                "fallback": ["big"],
            },
            "big": {"provider": "stub-anthropic", "model": "claude-3-5-haiku-latest"},
        },
        llm_cache=False,
    ).gateway
    done = await gateway.complete(LlmCall(messages=(msg("user", "hi"),)))
    assert done.agent == "big"
