"""What the response cache stores for one request."""

from __future__ import annotations

from pydantic import BaseModel

from pulse_agent_adapter.domain.llm import Completion
from pulse_contracts import Usage

__all__ = ["CachedCompletion"]


class CachedCompletion(BaseModel):
    text: str
    model: str
    provider: str
    finish_reason: str = "stop"
    usage: Usage
    """What the original call cost; a hit costs nothing."""
    stored_at: float
    expires_at: float

    @classmethod
    def of(cls, completion: Completion, *, now: float, ttl_s: float) -> CachedCompletion:
        return cls(
            text=completion.text,
            model=completion.model,
            provider=completion.provider,
            finish_reason=completion.finish_reason,
            usage=completion.usage,
            stored_at=now,
            expires_at=now + ttl_s,
        )

    def completion(self, agent: str) -> Completion:
        return Completion(
            text=self.text,
            usage=Usage(),
            model=self.model,
            provider=self.provider,
            finish_reason=self.finish_reason,
            agent=agent,
            cached=True,
        )
