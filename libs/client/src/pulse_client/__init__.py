"""pulse-client: talk to Pulse over HTTP from Python, start runs on NATS, operate its API
keys and dead letters, and the `pulse` command."""

from pulse_client.bus import PublishedRun, PulseBus, new_traceparent, trace_id_of
from pulse_client.client import PulseApiError, PulseClient, RunView
from pulse_client.dlq import (
    DeadLetterNotFound,
    DeadLetters,
    LetterNotReplayable,
    Replayed,
    StoredLetter,
)
from pulse_client.keys import (
    ApiKeyNotFound,
    ApiKeyStore,
    CreatedKey,
    StoredApiKey,
    api_key_hash,
    new_api_key,
)
from pulse_client.sse import ServerSentEvent, parse_sse

__all__ = [
    "ApiKeyNotFound",
    "ApiKeyStore",
    "CreatedKey",
    "DeadLetterNotFound",
    "DeadLetters",
    "LetterNotReplayable",
    "PublishedRun",
    "PulseApiError",
    "PulseBus",
    "PulseClient",
    "Replayed",
    "RunView",
    "ServerSentEvent",
    "StoredApiKey",
    "StoredLetter",
    "api_key_hash",
    "new_api_key",
    "new_traceparent",
    "parse_sse",
    "trace_id_of",
]
