"""OpenAI-compatible chat completions: OpenAI itself and everything that speaks its wire
format by base URL (vLLM, Ollama, LM Studio, Groq, DeepSeek, Together, ...).

`POST {base_url}/chat/completions`, with `stream: true` for server-sent events of
`chat.completion.chunk` objects ending in `data: [DONE]`; `stream_options.include_usage`
asks for the token counts in a last chunk. o-series models take `max_completion_tokens`
instead of `max_tokens`.
"""

from __future__ import annotations

import json
import re
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

__all__ = ["OpenAiCompatProvider", "openai_body"]

_REASONING_MODEL: Final = re.compile(r"^o[1-9](?:$|-)")


def openai_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    tokens_field = (
        "max_completion_tokens" if _REASONING_MODEL.match(request.model) else "max_tokens"
    )
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        tokens_field: request.max_tokens,
        "temperature": request.temperature,
    }
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop"] = list(request.stop)
    if request.json_mode:
        body["response_format"] = {"type": "json_object"}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _usage(payload: Any) -> Usage | None:
    if not isinstance(payload, dict):
        return None
    return Usage(
        prompt_tokens=int(payload.get("prompt_tokens") or 0),
        completion_tokens=int(payload.get("completion_tokens") or 0),
    )


class OpenAiCompatProvider:
    kind = "openai"

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
            "/chat/completions", openai_body(request, stream=False), deadline
        )
        try:
            choice = payload["choices"][0]
            text = choice["message"].get("content") or ""
            finish = choice.get("finish_reason") or "stop"
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ProviderError(self._name, "answer has no choices[0].message") from None
        return Completion(
            text=str(text),
            usage=_usage(payload.get("usage")) or Usage(),
            model=str(payload.get("model") or request.model),
            provider=self._name,
            finish_reason=str(finish),
        )

    async def stream(self, request: ChatRequest, deadline: Deadline) -> AsyncIterator[StreamEvent]:
        body = openai_body(request, stream=True)
        finish = "stop"
        usage: Usage | None = None
        done = False
        async with self._transport.stream("/chat/completions", body, deadline) as response:
            try:
                async for event in iter_sse(response.aiter_lines()):
                    if event.data.strip() == "[DONE]":
                        done = True
                        break
                    chunk = json.loads(event.data)
                    if "error" in chunk:
                        message = chunk["error"].get("message", "error event")
                        raise ProviderError(self._name, f"stream error: {message}", retryable=True)
                    usage = _usage(chunk.get("usage")) or usage
                    for choice in chunk.get("choices") or []:
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            yield StreamDelta(str(content))
                        finish = choice.get("finish_reason") or finish
            except ProviderError:
                raise
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ProviderError(self._name, f"malformed stream chunk: {exc}") from None
            except Exception as exc:  # the connection dropped mid-stream
                raise ProviderError(
                    self._name, f"stream cut off: {type(exc).__name__}: {exc}", retryable=True
                ) from None
        if not done:
            raise ProviderError(self._name, "stream cut off before [DONE]", retryable=True)
        yield StreamEnd(finish_reason=str(finish), usage=usage)
