"""The stub server speaks the real wire formats: the official `openai` client accepts its
answers, and the adapter's providers read both formats, streamed or not."""

from __future__ import annotations

import openai
import pytest

from pulse_agent_adapter.domain.llm import ChatRequest, Deadline, StreamDelta, StreamEnd
from pulse_agent_adapter.llm.providers import AnthropicProvider, OpenAiCompatProvider
from pulse_agent_adapter.llm.transport import HttpTransport, ProviderError, TransportSettings
from pulse_contracts import ChatMessage
from pulse_stack.llm_stub import Fault, StubLlmServer

MESSAGES = [{"role": "user", "content": "Name three JetStream retention policies"}]


def request(model: str, text: str = "Name three JetStream retention policies") -> ChatRequest:
    return ChatRequest(
        messages=(
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content=text),
        ),
        model=model,
        max_tokens=64,
    )


def transport(base_url: str, **headers: str) -> HttpTransport:
    return HttpTransport("stub", base_url, headers=headers, settings=TransportSettings())


async def test_the_openai_client_accepts_a_completion(stub: StubLlmServer) -> None:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=stub.openai_base_url, max_retries=0)
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == f"Stub answer to: {MESSAGES[0]['content']}"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.total_tokens > 0
    assert stub.llm.requests[-1].headers["authorization"] == "Bearer sk-test"
    await client.close()


async def test_the_openai_client_accepts_a_stream_with_usage(stub: StubLlmServer) -> None:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=stub.openai_base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces: list[str] = []
    usage = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    assert "".join(pieces) == f"Stub answer to: {MESSAGES[0]['content']}"
    assert len(pieces) > 3
    assert usage is not None
    assert usage.completion_tokens > 0
    await client.close()


async def test_the_openai_client_sees_rate_limits_and_overload(stub: StubLlmServer) -> None:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=stub.openai_base_url, max_retries=0)
    stub.llm.fail("gpt-4o-mini", Fault(status=429, retry_after="2"), Fault(status=503))
    with pytest.raises(openai.RateLimitError) as limited:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert limited.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    await client.close()


async def test_openai_compatible_provider_reads_both_modes(stub: StubLlmServer) -> None:
    provider = OpenAiCompatProvider("stub", transport(stub.openai_base_url))
    done = await provider.chat(request("gpt-4o-mini"), Deadline.after(10))
    assert done.text.startswith("Stub answer to: Name three")
    assert done.usage.prompt_tokens > 0
    assert done.usage.completion_tokens > 0
    events = [e async for e in provider.stream(request("gpt-4o-mini"), Deadline.after(10))]
    assert "".join(e.text for e in events if isinstance(e, StreamDelta)) == done.text
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.usage == done.usage
    sent = stub.llm.requests[-1].body
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    await provider.aclose()


async def test_reasoning_models_get_max_completion_tokens(stub: StubLlmServer) -> None:
    provider = OpenAiCompatProvider("stub", transport(stub.openai_base_url))
    await provider.chat(request("o3-mini"), Deadline.after(10))
    assert "max_completion_tokens" in stub.llm.requests[-1].body
    assert "max_tokens" not in stub.llm.requests[-1].body
    await provider.aclose()


async def test_anthropic_provider_reads_both_modes(stub: StubLlmServer) -> None:
    provider = AnthropicProvider(
        "stub-anthropic",
        transport(stub.anthropic_base_url, **{"x-api-key": "k", "anthropic-version": "2023-06-01"}),
    )
    done = await provider.chat(request("claude-3-5-haiku-latest"), Deadline.after(10))
    assert done.text.startswith("Stub answer to: Name three")
    assert done.finish_reason == "end_turn"
    sent = stub.llm.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.body["system"] == "Be brief."
    assert [m["role"] for m in sent.body["messages"]] == ["user"]
    assert sent.headers["x-api-key"] == "k"
    events = [
        e async for e in provider.stream(request("claude-3-5-haiku-latest"), Deadline.after(10))
    ]
    assert "".join(e.text for e in events if isinstance(e, StreamDelta)) == done.text
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.usage == done.usage
    await provider.aclose()


@pytest.mark.parametrize("anthropic", [False, True])
async def test_a_stream_cut_off_midway_is_a_retryable_error(
    stub: StubLlmServer, anthropic: bool
) -> None:
    provider = (
        AnthropicProvider("a", transport(stub.anthropic_base_url))
        if anthropic
        else OpenAiCompatProvider("o", transport(stub.openai_base_url))
    )
    stub.llm.fail("*", Fault(cut_after_chunks=4))
    received: list[str] = []

    async def read_all() -> None:
        async for event in provider.stream(request("m"), Deadline.after(10)):
            if isinstance(event, StreamDelta):
                received.append(event.text)

    with pytest.raises(ProviderError, match="cut off") as cut:
        await read_all()
    assert cut.value.retryable
    assert received  # some text arrived before the cut
    await provider.aclose()
