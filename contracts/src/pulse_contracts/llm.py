"""LLM calls as typed messages, so any service can ask the agent-adapter for a completion."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pulse_contracts.base import Message, Usage
from pulse_contracts.errors import ErrorInfo

__all__ = ["ChatMessage", "LlmRequested", "LlmResponded"]


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class LlmRequested(Message):
    """Ask an agent (a named provider/model profile) for one chat completion."""

    run_id: str | None = None
    step_id: str | None = None
    tenant: str = "default"
    agent: str = "default"
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int = Field(default=512, gt=0, le=200_000)
    temperature: float = Field(default=0.0, ge=0, le=2)


class LlmResponded(Message):
    """The answer to an `LlmRequested`; on failure `error` is set and `text` is empty."""

    request_id: str
    provider: str = ""
    model: str = ""
    text: str = ""
    finish_reason: str = "stop"
    usage: Usage = Field(default_factory=Usage)
    error: ErrorInfo | None = None
