"""What an LLM call is, whatever answers it: requests, completions, stream events, and the
two interfaces behind them — `LlmProvider` (one backend: offline, OpenAI-compatible,
Anthropic) and `CompletionService` (the adapter's gateway: agents, fallback, cache, budgets).

Plain data and protocols: no HTTP, NATS or provider SDK import.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Final, Protocol

from pulse_contracts import ChatMessage, Usage

__all__ = [
    "MAX_COMPLETION_TOKENS",
    "MAX_PROMPT_CHARS",
    "ChatRequest",
    "Completion",
    "CompletionService",
    "Deadline",
    "LlmCall",
    "LlmProvider",
    "StreamDelta",
    "StreamEnd",
    "StreamEvent",
]

MAX_PROMPT_CHARS: Final = 200_000
MAX_COMPLETION_TOKENS: Final = 32_768


@dataclass(frozen=True)
class Deadline:
    """A moment on the monotonic clock by which an answer is due."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def sooner(self, seconds: float) -> Deadline:
        """This deadline, or `seconds` from now if that comes first."""
        return Deadline(min(self.at, time.monotonic() + seconds))


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion as a provider sees it: messages, model and sampling parameters."""

    messages: tuple[ChatMessage, ...]
    model: str
    max_tokens: int
    temperature: float = 0.0
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    json_mode: bool = False

    def with_messages(self, messages: tuple[ChatMessage, ...]) -> ChatRequest:
        return replace(self, messages=messages)

    @property
    def last_user_text(self) -> str:
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str
    provider: str
    finish_reason: str = "stop"
    agent: str = ""
    cached: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamDelta:
    """A piece of the answer, as the provider streamed it."""

    text: str


@dataclass(frozen=True)
class StreamEnd:
    """The stream is over; `usage` is what the provider reported, if it did."""

    finish_reason: str = "stop"
    usage: Usage | None = None


StreamEvent = StreamDelta | StreamEnd


class LlmProvider(Protocol):
    """One backend that answers chat requests.

    A provider raises `pulse_agent_adapter.llm.errors.ProviderError` (retryable or not)
    when the backend failed; it never falls back or caches on its own — the gateway does.
    """

    @property
    def name(self) -> str: ...

    async def chat(self, request: ChatRequest, deadline: Deadline) -> Completion: ...

    def stream(self, request: ChatRequest, deadline: Deadline) -> AsyncIterator[StreamEvent]:
        """Deltas as they arrive, then one `StreamEnd`."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class LlmCall:
    """What a caller (a tool, the planner over NATS) asks the gateway for."""

    messages: tuple[ChatMessage, ...]
    tenant: str = "default"
    agent: str = "default"
    max_tokens: int | None = None
    temperature: float | None = None
    run_id: str | None = None
    step_id: str | None = None
    timeout_s: float | None = None
    use_cache: bool = True
    stream: bool | None = None
    """None: as the agent profile says."""
    json_mode: bool = False
    request_id: str = field(default="")


class CompletionService(Protocol):
    """The adapter's LLM gateway, as tools see it."""

    async def complete(self, call: LlmCall) -> Completion: ...

    def stream(self, call: LlmCall) -> AsyncIterator[str]: ...

    async def batch(self, calls: list[LlmCall]) -> list[Completion | Exception]: ...
