"""pulse-resilience: calling a dependency that may fail, without failing with it.

- `CircuitBreaker` — closed / open / half-open with a consecutive-failure threshold and a
  cool-down; refuses calls with `CircuitOpen` while open;
- `Backoff` and `retry` — exponential back-off with jitter, honouring a delay hint such as
  a server's `Retry-After`.

No I/O and no third-party dependency: any service (or a library) can use them.
"""

from pulse_resilience.breaker import BreakerState, CircuitBreaker, CircuitOpen, StateListener
from pulse_resilience.retry import Backoff, retry

__all__ = [
    "Backoff",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "StateListener",
    "retry",
]
