"""Anthropic Messages: `POST {base_url}/v1/messages` with `x-api-key` and
`anthropic-version`; the system prompt travels apart from the messages. Streaming sends
`message_start`, `content_block_delta` (`text_delta`), `message_delta` (stop reason and
output tokens) and `message_stop` events; an `error` event ends a stream early.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Final

from pulse_agent_adapter.domain.llm import (
    ChatRequest,
    Completion,
    Deadline,
    StreamDelta,
    StreamEnd,
    StreamEvent,
)
from pulse_agent_adapter.llm.providers.sse import iter_sse
from pulse_agent_adapter.llm.transport import HttpTransport, ProviderError
from pulse_contracts import Usage

__all__ = ["ANTHROPIC_VERSION", "AnthropicProvider", "anthropic_body"]

ANTHROPIC_VERSION: Final = "2023-06-01"
_PATH: Final = "/v1/messages"


def anthropic_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    turns: list[dict[str, str]] = []
    for message in request.messages:
        if message.role == "system":
            continue
        if turns and turns[-1]["role"] == message.role:  # the API wants roles to alternate
            turns[-1]["content"] += "\n\n" + message.content
        else:
            turns.append({"role": message.role, "content": message.content})
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": turns,
        "temperature": request.temperature,
    }
    if system:
        body["system"] = system
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if stream:
        body["stream"] = True
    return body


def _usage(payload: Any) -> Usage:
    if not isinstance(payload, dict):
        return Usage()
    return Usage(
        prompt_tokens=int(payload.get("input_tokens") or 0),
        completion_tokens=int(payload.get("output_tokens") or 0),
    )


class AnthropicProvider:
    kind = "anthropic"

    def __init__(self, name: str, transport: HttpTransport) -> None:
        self._name = name
        self._transport = transport

    @property
    def name(self) -> str:
        return self._name

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def chat(self, request: ChatRequest, deadline: Deadline) -> Completion:
        payload = await self._transport.post_json(
            _PATH, anthropic_body(request, stream=False), deadline
        )
        blocks = payload.get("content")
        if not isinstance(blocks, list):
            raise ProviderError(self._name, "answer has no content blocks")
        text = "".join(
            str(b.get("text", ""))
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "text"
        )
        return Completion(
            text=text,
            usage=_usage(payload.get("usage")),
            model=str(payload.get("model") or request.model),
            provider=self._name,
            finish_reason=str(payload.get("stop_reason") or "stop"),
        )

    async def stream(self, request: ChatRequest, deadline: Deadline) -> AsyncIterator[StreamEvent]:
        body = anthropic_body(request, stream=True)
        prompt_tokens = 0
        completion_tokens = 0
        finish = "stop"
        stopped = False
        async with self._transport.stream(_PATH, body, deadline) as response:
            try:
                async for event in iter_sse(response.aiter_lines()):
                    payload = json.loads(event.data)
                    kind = payload.get("type", event.event)
                    if kind == "message_start":
                        prompt_tokens = _usage(payload["message"].get("usage")).prompt_tokens
                    elif kind == "content_block_delta":
                        delta = payload.get("delta") or {}
                        if delta.get("type") == "text_delta" and delta.get("text"):
                            yield StreamDelta(str(delta["text"]))
                    elif kind == "message_delta":
                        finish = (payload.get("delta") or {}).get("stop_reason") or finish
                        completion_tokens = _usage(payload.get("usage")).completion_tokens
                    elif kind == "message_stop":
                        stopped = True
                        break
                    elif kind == "error":
                        error = payload.get("error") or {}
                        raise ProviderError(
                            self._name,
                            f"stream error: {error.get('type')}: {error.get('message')}",
                            retryable=error.get("type") in {"overloaded_error", "api_error"},
                        )
            except ProviderError:
                raise
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ProviderError(self._name, f"malformed stream event: {exc}") from None
            except Exception as exc:  # the connection dropped mid-stream
                raise ProviderError(
                    self._name, f"stream cut off: {type(exc).__name__}: {exc}", retryable=True
                ) from None
        if not stopped:
            raise ProviderError(self._name, "stream cut off before message_stop", retryable=True)
        yield StreamEnd(
            finish_reason=str(finish),
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
        )
