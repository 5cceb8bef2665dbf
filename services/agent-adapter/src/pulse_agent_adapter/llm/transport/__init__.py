"""How the adapter reaches providers: pooled HTTP with retries (`http`), the per-provider
concurrency limit, throttle and breakers (`lane`), and the policies behind them."""

from pulse_agent_adapter.llm.transport.errors import REDACTED, ProviderError, Saturated, redact
from pulse_agent_adapter.llm.transport.http import HttpTransport, TransportSettings
from pulse_agent_adapter.llm.transport.lane import BreakerSettings, ProviderLane
from pulse_agent_adapter.llm.transport.limiter import ConcurrencyLimiter
from pulse_agent_adapter.llm.transport.retry import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    parse_retry_after,
)
from pulse_agent_adapter.llm.transport.throttle import AdaptiveThrottle, parse_reset_s

__all__ = [
    "REDACTED",
    "RETRYABLE_STATUSES",
    "AdaptiveThrottle",
    "BreakerSettings",
    "ConcurrencyLimiter",
    "HttpTransport",
    "ProviderError",
    "ProviderLane",
    "RetryPolicy",
    "Saturated",
    "TransportSettings",
    "parse_reset_s",
    "parse_retry_after",
    "redact",
]
