"""Dead letters: messages a consumer could not process, kept with the reason."""

from __future__ import annotations

from pydantic import Field

from pulse_contracts.base import Message
from pulse_contracts.errors import ErrorInfo

__all__ = ["DeadLettered"]


class DeadLettered(Message):
    """Published on `pulse.dlq.<consumer>` instead of redelivering a poison message forever."""

    consumer: str
    original_subject: str
    error: ErrorInfo
    headers: dict[str, str] = Field(default_factory=dict)
    payload: str = Field(description="The original body, decoded as UTF-8 with replacement.")
    deliveries: int = 1
