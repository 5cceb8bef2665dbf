"""What an LLM call leaves for on-call, against the real stub provider over HTTP: the
`llm <agent>` span, one `chat <model>` child per provider request with the GenAI
attributes and the cost, the provider's HTTP request as the chat span's child (carrying
`traceparent` but not Pulse's baggage), and log lines that hold no prompt, completion or
key at INFO."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

import pytest
from opentelemetry import baggage, context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from pulse_agent_adapter.domain.llm import LlmCall
from pulse_agent_adapter.llm import LlmAssembly
from pulse_agent_adapter.llm.observation import PROMPT_LOG_CHARS
from pulse_contracts import ChatMessage
from pulse_stack.llm_stub import StubLlmServer
from pulse_telemetry import JsonFormatter

GatewayFactory = Callable[..., LlmAssembly]

PRICES = {"prompt_per_1k_usd": 0.5, "completion_per_1k_usd": 1.5}
SECRET_PROMPT = "the launch code is xyzzy-4471"
KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def call(text: str, agent: str = "default") -> LlmCall:
    return LlmCall(
        messages=(ChatMessage(role="user", content=text),),
        agent=agent,
        tenant="acme",
        run_id="run-7",
        step_id="s2",
    )


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_chat_span_has_genai_attributes_cost_and_the_http_request_as_child(
    stub: StubLlmServer,
    make_gateway: GatewayFactory,
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    assembly = make_gateway(
        {"default": {"provider": "stub", "model": "gpt-4o-mini", "prices": PRICES}},
        tracer_provider=provider,
        llm_cache=False,
    )
    token = context.attach(baggage.set_baggage("tenant", "acme"))
    try:
        done = await assembly.gateway.complete(call("name three colours"))
    finally:
        context.detach(token)

    spans = exporter.get_finished_spans()
    [outer] = named(spans, "llm default")
    [chat] = named(spans, "chat gpt-4o-mini")
    assert chat.parent is not None
    assert outer.context is not None
    assert chat.parent.span_id == outer.context.span_id
    assert chat.kind is SpanKind.CLIENT
    attrs = dict(chat.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.system"] == "openai"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.response.model"] == done.model
    assert attrs["gen_ai.usage.input_tokens"] == done.usage.prompt_tokens > 0
    assert attrs["gen_ai.usage.output_tokens"] == done.usage.completion_tokens > 0
    assert attrs["pulse.cost_usd"] == pytest.approx(done.usage.cost_usd)
    assert done.usage.cost_usd > 0
    assert attrs["pulse.cache"] == "miss"
    assert attrs["pulse.agent"] == "default"
    assert (attrs["pulse.run_id"], attrs["pulse.tenant"], attrs["pulse.step_id"]) == (
        "run-7",
        "acme",
        "s2",
    )
    outer_attrs = dict(outer.attributes or {})
    assert outer_attrs["pulse.run_id"] == "run-7"
    assert outer_attrs["pulse.cost_usd"] == pytest.approx(done.usage.cost_usd)

    # The provider's HTTP request: a CLIENT span under the chat span, whose id is the
    # parent the provider was told about in `traceparent`.
    [http] = children(spans, chat)
    assert http.kind is SpanKind.CLIENT
    assert http.name.startswith("POST")
    assert http.context is not None
    sent = stub.llm.requests[-1].headers
    assert sent["traceparent"].split("-")[1:3] == [
        format(http.context.trace_id, "032x"),
        format(http.context.span_id, "016x"),
    ]
    assert "baggage" not in sent  # tenant names stay inside Pulse


async def test_a_fallback_chain_shows_one_chat_span_per_provider_tried(
    stub: StubLlmServer,
    make_gateway: GatewayFactory,
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    assembly = make_gateway(
        {
            "primary": {"provider": "stub", "model": "gpt-down", "fallback": ["backup"]},
            "backup": {
                "provider": "stub-anthropic",
                "model": "claude-3-5-haiku-latest",
                "stream": True,
            },
        },
        tracer_provider=provider,
        llm_max_retries=0,
        llm_cache=False,
    )
    stub.llm.down.add("gpt-down")
    done = await assembly.gateway.complete(call("hello", agent="primary"))
    assert done.agent == "backup"

    spans = exporter.get_finished_spans()
    [outer] = named(spans, "llm primary")
    failed, answered = sorted(children(spans, outer), key=lambda s: s.start_time or 0)
    assert failed.name == "chat gpt-down"
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "503"
    assert answered.name == "chat claude-3-5-haiku-latest"
    assert (answered.attributes or {})["gen_ai.system"] == "anthropic"
    assert (answered.attributes or {})["pulse.agent"] == "backup"
    assert [e.name for e in outer.events] == ["fallback"]
    # Each attempt's HTTP request hangs under its own chat span (the second one streamed).
    assert len(children(spans, failed)) == 1
    assert len(children(spans, answered)) == 1


async def test_a_streamed_call_and_a_cache_hit_are_traced_too(
    stub: StubLlmServer,
    make_gateway: GatewayFactory,
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    assembly = make_gateway(
        {"default": {"provider": "stub-anthropic", "model": "claude-3-5-haiku-latest"}},
        tracer_provider=provider,
    )
    first = "".join([p async for p in assembly.gateway.stream(call("stream it"))])
    again = "".join([p async for p in assembly.gateway.stream(call("stream it"))])
    assert first == again

    spans = exporter.get_finished_spans()
    miss, hit = named(spans, "chat claude-3-5-haiku-latest")
    assert (miss.attributes or {})["pulse.cache"] == "miss"
    output_tokens = (miss.attributes or {})["gen_ai.usage.output_tokens"]
    assert isinstance(output_tokens, int)
    assert output_tokens > 0
    assert len(children(spans, miss)) == 1  # the HTTP request
    assert (hit.attributes or {})["pulse.cache"] == "memory"
    assert children(spans, hit) == []  # no request left the process
    assert len(stub.llm.requests) == 1


async def test_the_key_is_sent_but_never_traced_or_logged(
    stub: StubLlmServer,
    make_gateway: GatewayFactory,
    traced: tuple[TracerProvider, InMemorySpanExporter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider, exporter = traced
    assembly = make_gateway(
        {"default": {"provider": "stub", "model": "gpt-4o-mini"}},
        tracer_provider=provider,
        provider_api_keys={"stub": KEY},
    )
    caplog.set_level(logging.DEBUG)
    await assembly.gateway.complete(call("hello"))
    assert stub.llm.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    for span in exporter.get_finished_spans():
        assert KEY not in json.dumps(dict(span.attributes or {}), default=str)
    assert all(KEY not in line for line in _lines(caplog))


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every captured record as the JSON line the service would write (extras included)."""
    formatter = JsonFormatter("agent-adapter")
    return [formatter.format(record) for record in caplog.records]


async def test_info_logs_one_line_per_call_without_prompt_or_completion(
    stub: StubLlmServer, make_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    assembly = make_gateway(
        {"default": {"provider": "stub", "model": "gpt-4o-mini", "prices": PRICES}},
        llm_cache=False,
    )
    caplog.set_level(logging.INFO)
    done = await assembly.gateway.complete(call(SECRET_PROMPT))
    assert SECRET_PROMPT in done.text  # the stub quotes the prompt back: both are data

    lines = [json.loads(line) for line in _lines(caplog)]
    assert all(SECRET_PROMPT not in json.dumps(line) for line in lines)
    [answered] = [line for line in lines if line.get("logger") == "pulse.agent_adapter"]
    assert answered["level"] == "info"
    assert (answered["agent"], answered["provider"], answered["model"]) == (
        "default",
        "stub",
        done.model,
    )
    assert answered["prompt_tokens"] == done.usage.prompt_tokens
    assert answered["completion_tokens"] == done.usage.completion_tokens
    assert answered["cost_usd"] == pytest.approx(done.usage.cost_usd)
    assert answered["cache"] == "miss"
    assert answered["duration_ms"] >= 0


async def test_debug_logs_the_prompt_cut_to_its_limit(
    stub: StubLlmServer, make_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    assembly = make_gateway({"default": {"provider": "stub", "model": "gpt-4o-mini"}})
    caplog.set_level(logging.DEBUG, logger="pulse.agent_adapter")
    await assembly.gateway.complete(call(SECRET_PROMPT))
    long_prompt = "word " * PROMPT_LOG_CHARS
    await assembly.gateway.complete(call(long_prompt))

    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and hasattr(r, "prompt")]
    short, cut = debug
    assert SECRET_PROMPT in short.prompt  # type: ignore[attr-defined]
    assert len(cut.prompt) == PROMPT_LOG_CHARS  # type: ignore[attr-defined]
    assert f"the first {PROMPT_LOG_CHARS} logged" in cut.getMessage()
    # The service's JSON lines show it with debug logging on, and only then.
    with_debug = JsonFormatter("agent-adapter", keep_content=True).format(short)
    assert SECRET_PROMPT in json.loads(with_debug)["prompt"]
    assert SECRET_PROMPT not in JsonFormatter("agent-adapter").format(short)
