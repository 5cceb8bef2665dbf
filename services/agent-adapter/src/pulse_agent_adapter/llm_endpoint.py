"""The adapter's LLM endpoint on the bus: `LlmRequested` in, `LlmResponded` out.

Core NATS request/reply on `pulse.llm.requests` in the queue group `agent-adapter`, so
each request is answered by exactly one replica and needs no stream. Every request gets
an answer — an `LlmResponded` with `error` set when the call failed (`busy` with
`retry_after_s`, `budget_exceeded`, `provider_failed`, `invalid_message` for an unknown
agent or a request that does not validate) — and the answer comes before the caller's
`timeout_s` runs out, so a caller never has to tell a slow adapter from a dead one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from faststream.nats import NatsBroker, NatsMessage
from nats.aio.msg import Msg
from pydantic import ValidationError

from pulse_agent_adapter.domain.llm import CompletionService, LlmCall
from pulse_agent_adapter.domain.llm_errors import LlmBusy
from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    LlmRequested,
    LlmResponded,
    PulseError,
    invalid_message_info,
    subjects,
)
from pulse_telemetry import bind_run

__all__ = ["answer", "register_llm_endpoint", "reply_margin_s"]

log = logging.getLogger("pulse.agent_adapter")

_REPLY_MARGIN_S: Final = 0.25
"""Answer this much before the caller gives up, so the reply still reaches it."""


def reply_margin_s(timeout_s: float) -> float:
    return min(_REPLY_MARGIN_S, timeout_s * 0.1)


def _failed(request_id: str, error: ErrorInfo, retry_after_s: float | None = None) -> LlmResponded:
    return LlmResponded(
        message_id=f"{request_id}:response",
        request_id=request_id,
        error=error,
        retry_after_s=retry_after_s,
        finish_reason="error",
    )


async def answer(llm: CompletionService, request: LlmRequested) -> LlmResponded:
    """The reply to one request; failures become a typed `error`, never an exception."""
    timeout_s = None
    if request.timeout_s is not None:
        timeout_s = max(0.05, request.timeout_s - reply_margin_s(request.timeout_s))
    call = LlmCall(
        messages=tuple(request.messages),
        tenant=request.tenant,
        agent=request.agent,
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        run_id=request.run_id,
        step_id=request.step_id,
        timeout_s=timeout_s,
        use_cache=request.cache,
        request_id=request.message_id,
    )
    try:
        done = await llm.complete(call)
    except LlmBusy as exc:
        return _failed(request.message_id, exc.to_info(), exc.retry_after_s)
    except PulseError as exc:
        return _failed(request.message_id, exc.to_info())
    except TimeoutError:
        error = ErrorInfo(
            code=ErrorCode.TIMED_OUT,
            message="no answer within the request's timeout",
            run_id=request.run_id,
            step_id=request.step_id,
            retryable=True,
        )
        return _failed(request.message_id, error)
    return LlmResponded(
        message_id=f"{request.message_id}:response",
        request_id=request.message_id,
        provider=done.provider,
        model=done.model,
        text=done.text,
        finish_reason=done.finish_reason,
        usage=done.usage,
        agent=done.agent,
        cached=done.cached,
        warnings=list(done.warnings),
    )


async def _reject_invalid(msg: Msg, parse: Callable[[Msg], Awaitable[NatsMessage]]) -> NatsMessage:
    """Answer a request that does not validate with `invalid_message` before FastStream
    refuses it, so the caller gets a reason instead of a timeout."""
    try:
        LlmRequested.model_validate_json(msg.data)
    except ValidationError as exc:
        if msg.reply:
            error = invalid_message_info(exc)
            await msg.respond(_failed("invalid", error).model_dump_json().encode())
    return await parse(msg)


def register_llm_endpoint(
    broker: NatsBroker, llm: CompletionService, *, max_workers: int = 64
) -> None:
    """Answer requests `max_workers` at a time per replica (the provider limits still
    apply inside the gateway; this only keeps one slow call from blocking the others)."""

    @broker.subscriber(
        subjects.LLM_REQUESTS,
        queue=subjects.LLM_QUEUE_GROUP,
        parser=_reject_invalid,
        max_workers=max_workers,
        title="LlmRequested",
        description="Answer one chat completion (request/reply); the reply is LlmResponded.",
    )
    async def complete(request: LlmRequested) -> LlmResponded:
        bind_run(request.run_id, request.step_id, request.tenant)  # also tags the span
        response = await answer(llm, request)
        if response.error is not None:
            log.warning(
                "LLM request for agent %s failed: %s",
                request.agent,
                response.error.message,
                extra={"error_code": response.error.code.value},
            )
        return response
