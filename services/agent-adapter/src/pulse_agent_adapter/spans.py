"""The names and attributes of the adapter's spans, as agreed across Pulse (issue 6).

- `execute_tool <tool>` — one tool run (inside the consume span of its `DispatchTask`).
- `llm <agent>` — one call to the LLM gateway, the whole fallback chain.
- `chat <model>` (kind CLIENT) — one request to one provider, with the OpenTelemetry GenAI
  attributes; its provider HTTP request is a child span made by the httpx instrumentation.

Every span that works for a run carries `pulse.run_id` and `pulse.tenant`, and
`pulse.step_id` where there is a step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from opentelemetry import baggage, context

__all__ = [
    "GEN_AI_OPERATION",
    "GEN_AI_PROVIDER",
    "GEN_AI_REQUEST_MAX_TOKENS",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_REQUEST_TEMPERATURE",
    "GEN_AI_RESPONSE_FINISH_REASONS",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_SYSTEM",
    "GEN_AI_TOOL_NAME",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "chat_span_name",
    "llm_span_name",
    "tool_span_name",
    "without_baggage",
]

# OpenTelemetry semantic conventions for generative AI (spelled out here: the semconv
# package keeps them in an `_incubating` module that may move).
GEN_AI_OPERATION: Final = "gen_ai.operation.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_PROVIDER: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"


def tool_span_name(tool: str) -> str:
    return f"execute_tool {tool}"


def llm_span_name(agent: str) -> str:
    return f"llm {agent}"


def chat_span_name(model: str) -> str:
    return f"chat {model}"


@contextmanager
def without_baggage(ctx: context.Context | None = None) -> Iterator[None]:
    """Make `ctx` (default: the current context) current with its baggage removed.

    Baggage (`run_id`, `tenant`) is for Pulse's own hops; a provider's HTTP request, which
    the httpx instrumentation would give every baggage entry as a header, should not
    learn tenant names. The trace context itself still travels (`traceparent`).
    """
    token = context.attach(baggage.clear(ctx))
    try:
        yield
    finally:
        context.detach(token)
