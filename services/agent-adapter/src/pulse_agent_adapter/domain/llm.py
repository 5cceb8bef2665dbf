"""The `llm.complete` tool and the provider interface every LLM backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pulse_agent_adapter.domain.tools import ToolContext, parse_input
from pulse_contracts import ChatMessage, JsonValue, Usage

__all__ = [
    "MAX_COMPLETION_TOKENS",
    "MAX_PROMPT_CHARS",
    "Completion",
    "LlmCompleteInput",
    "LlmCompleteTool",
    "LlmProvider",
]

MAX_PROMPT_CHARS: Final = 20_000
MAX_COMPLETION_TOKENS: Final = 8192


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str
    provider: str


class LlmProvider(Protocol):
    """One way of getting a chat completion (offline, OpenAI-compatible, Anthropic...)."""

    @property
    def name(self) -> str: ...

    async def complete(
        self, messages: list[ChatMessage], model: str, max_tokens: int
    ) -> Completion: ...


class LlmCompleteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_tokens: int | None = Field(default=None, gt=0, le=MAX_COMPLETION_TOKENS)


class LlmCompleteTool:
    """Returns the completion text; the tokens it cost go to the step's usage."""

    name = "llm.complete"
    description = "Ask the configured LLM to complete a prompt and return the text it wrote."

    def __init__(self, provider: LlmProvider, model: str, default_max_tokens: int) -> None:
        self._provider = provider
        self._model = model
        self._default_max_tokens = default_max_tokens

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return LlmCompleteInput.model_json_schema()

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        args = parse_input(LlmCompleteInput, input, ctx)
        completion = await self._provider.complete(
            [ChatMessage(role="user", content=args.prompt)],
            self._model,
            args.max_tokens or self._default_max_tokens,
        )
        ctx.add_usage(completion.usage)
        return completion.text
