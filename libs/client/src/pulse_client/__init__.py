"""pulse-client: talk to Pulse over HTTP from Python, start runs on NATS, operate its API
keys and dead letters, draw a run's waterfall, and the `pulse` command."""

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
from pulse_client.timeline import (
    Timeline,
    TimelineAttempt,
    TimelineError,
    TimelineRestart,
    TimelineStep,
    TimelineUsage,
)
from pulse_client.waterfall import render_waterfall
from pulse_client.waterfall_html import render_waterfall_html

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
    "Timeline",
    "TimelineAttempt",
    "TimelineError",
    "TimelineRestart",
    "TimelineStep",
    "TimelineUsage",
    "api_key_hash",
    "new_api_key",
    "new_traceparent",
    "parse_sse",
    "render_waterfall",
    "render_waterfall_html",
    "trace_id_of",
]
