"""What every message on the bus has in common."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["SCHEMA_VERSION", "JsonValue", "Message", "Usage", "utcnow"]

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every bus message.

    `message_id` is deterministic wherever a retry could send the message again and is
    sent as `Nats-Msg-Id`, so JetStream's duplicate window drops resends. Unknown fields
    are ignored, so producers may add fields (changes are additive) without breaking
    older consumers.
    """

    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    message_id: str = Field(min_length=1, max_length=512)
    occurred_at: datetime = Field(default_factory=utcnow)


class Usage(BaseModel):
    """Token and cost accounting of one LLM call, or of everything a step or run used."""

    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 10),
        )
