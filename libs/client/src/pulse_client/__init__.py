"""pulse-client: talk to Pulse over HTTP from Python, operate its dead letters, and the `pulse` command."""

from pulse_client.client import PulseApiError, PulseClient
from pulse_client.dlq import (
    DeadLetterNotFound,
    DeadLetters,
    LetterNotReplayable,
    Replayed,
    StoredLetter,
)

__all__ = [
    "DeadLetterNotFound",
    "DeadLetters",
    "LetterNotReplayable",
    "PulseApiError",
    "PulseClient",
    "Replayed",
    "StoredLetter",
]
