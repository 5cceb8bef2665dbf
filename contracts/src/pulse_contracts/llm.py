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
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="How long the caller waits for the reply; the adapter answers within it "
        "(a `busy` error rather than no answer). None: the adapter's own request timeout.",
    )
    cache: bool = Field(
        default=True, description="False: always ask the provider (a re-plan, a retry)."
    )


class LlmResponded(Message):
    """The answer to an `LlmRequested`; on failure `error` is set and `text` is empty."""

    request_id: str
    provider: str = ""
    model: str = ""
    text: str = ""
    finish_reason: str = "stop"
    usage: Usage = Field(default_factory=Usage)
    error: ErrorInfo | None = None
    agent: str = Field(default="", description="The agent profile that answered.")
    cached: bool = Field(default=False, description="Answered from the response cache.")
    warnings: list[str] = Field(
        default_factory=list,
        description="E.g. `prompt_truncated`: the prompt was cut to fit the model's context.",
    )
    retry_after_s: float | None = Field(
        default=None, ge=0, description="With a `busy` error: when to try again."
    )
