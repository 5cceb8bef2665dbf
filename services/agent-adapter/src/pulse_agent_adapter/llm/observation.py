"""What one provider request leaves behind for on-call: its `chat <model>` span and its
log lines.

The span (kind CLIENT) carries the OpenTelemetry GenAI attributes — before the call what
was asked (`gen_ai.operation.name=chat`, `gen_ai.system` and `gen_ai.provider.name` = the
provider's kind, `gen_ai.request.model`, max tokens, temperature), after it what came
back (`gen_ai.response.model`, `gen_ai.usage.input_tokens`/`output_tokens`, finish
reason) — plus `pulse.cost_usd`, `pulse.agent`, `pulse.provider` (the configured provider
name), `pulse.cache` (the layer that answered, or `miss`) and the run's ids. A failed
request is status ERROR with `error.type` (the failure's reason or error code).

One INFO line per answer: agent, provider, model, duration_ms, tokens, cost_usd, cache.
Never the prompt or the completion at INFO; at DEBUG the rendered prompt (field `prompt`),
cut to `PROMPT_LOG_CHARS`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Final

from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from pulse_agent_adapter.domain.llm import ChatRequest, Completion, LlmCall
from pulse_agent_adapter.llm.admission import Unavailable
from pulse_agent_adapter.llm.preparation import Prepared
from pulse_agent_adapter.spans import (
    GEN_AI_OPERATION,
    GEN_AI_PROVIDER,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    chat_span_name,
)
from pulse_contracts import PulseError
from pulse_telemetry import run_attributes

__all__ = [
    "CACHE_MISS",
    "PROMPT_LOG_CHARS",
    "chat_answered",
    "chat_failed",
    "current",
    "log_prompt",
    "start_chat_span",
]

log = logging.getLogger("pulse.agent_adapter")

PROMPT_LOG_CHARS: Final = 2000
CACHE_MISS: Final = "miss"


def start_chat_span(
    tracer: Tracer,
    prepared: Prepared,
    request: ChatRequest,
    call: LlmCall,
    parent: context.Context,
) -> trace.Span:
    attributes: dict[str, AttributeValue] = {
        GEN_AI_OPERATION: "chat",
        GEN_AI_SYSTEM: prepared.kind,
        GEN_AI_PROVIDER: prepared.kind,
        GEN_AI_REQUEST_MODEL: request.model,
        GEN_AI_REQUEST_MAX_TOKENS: request.max_tokens,
        GEN_AI_REQUEST_TEMPERATURE: request.temperature,
        "pulse.agent": prepared.profile.name,
        "pulse.provider": prepared.provider.name,
        **run_attributes(call.run_id, call.tenant, call.step_id),
    }
    return tracer.start_span(
        chat_span_name(request.model), parent, kind=SpanKind.CLIENT, attributes=attributes
    )


def current(span: trace.Span) -> contextlib.AbstractContextManager[trace.Span]:
    """`span` current for the block; failures are recorded by `chat_failed`, not twice."""
    return trace.use_span(
        span, end_on_exit=False, record_exception=False, set_status_on_exception=False
    )


def chat_answered(span: trace.Span, done: Completion, cache: str, started: float) -> None:
    """Set the answer's attributes and log its line (call with `span` current, so the
    line carries its span id); `started` is the request's `time.perf_counter()`."""
    span.set_attributes(
        {
            GEN_AI_RESPONSE_MODEL: done.model,
            GEN_AI_RESPONSE_FINISH_REASONS: [done.finish_reason],
            GEN_AI_USAGE_INPUT_TOKENS: done.usage.prompt_tokens,
            GEN_AI_USAGE_OUTPUT_TOKENS: done.usage.completion_tokens,
            "pulse.cost_usd": done.usage.cost_usd,
            "pulse.cache": cache,
        }
    )
    log.info(
        "llm %s/%s answered agent %s",
        done.provider,
        done.model,
        done.agent,
        extra={
            "agent": done.agent,
            "provider": done.provider,
            "model": done.model,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "prompt_tokens": done.usage.prompt_tokens,
            "completion_tokens": done.usage.completion_tokens,
            "cost_usd": done.usage.cost_usd,
            "cache": cache,
        },
    )


def chat_failed(span: trace.Span, exc: BaseException) -> None:
    if isinstance(exc, Exception):
        span.record_exception(exc)
    if isinstance(exc, Unavailable):
        span.set_attribute("error.type", exc.reason)
        span.set_status(Status(StatusCode.ERROR, exc.message))
    elif isinstance(exc, PulseError):
        span.set_attribute("error.type", exc.code.value)
        span.set_status(Status(StatusCode.ERROR, str(exc)))
    elif isinstance(exc, Exception):
        span.set_attribute("error.type", type(exc).__name__)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    else:  # cancelled: the caller gave up (its deadline, a canceled step)
        span.set_attribute("error.type", "cancelled")
        span.set_status(Status(StatusCode.ERROR, "cancelled"))


def log_prompt(request: ChatRequest) -> None:
    """The rendered prompt, at DEBUG only (prompts are user data). It goes in the `prompt`
    field, which `pulse_telemetry`'s JSON lines also drop unless debug logging is on."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    rendered = "\n".join(f"{m.role}: {m.content}" for m in request.messages)
    log.debug(
        "prompt to %s: %d chars%s",
        request.model,
        len(rendered),
        f", the first {PROMPT_LOG_CHARS} logged" if len(rendered) > PROMPT_LOG_CHARS else "",
        extra={"prompt": rendered[:PROMPT_LOG_CHARS]},
    )
