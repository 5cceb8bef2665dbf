"""The executor's outside world behind small protocols.

- `RunStore` — run documents with compare-and-set: `NatsRunStore` (JetStream KV) and
  `InMemoryRunStore` (same semantics, for tests);
- `EffectPublisher` — dispatch commands, run events and timers onto JetStream, stop
  requests onto core NATS (`DirectSend`: straight on the connection, one span each);
- `TimerWithdrawal` — purge the schedules of timers that became moot.
"""

from pulse_executor.adapters.bus import (
    BusEffectPublisher,
    EffectPublisher,
    Send,
    TimerWithdrawal,
    pending_timer_subject,
    route,
    schedule_headers,
    timer_subject,
)
from pulse_executor.adapters.direct import DirectSend, producer_headers
from pulse_executor.adapters.memory_store import InMemoryRunStore
from pulse_executor.adapters.nats_store import NatsRunStore
from pulse_executor.adapters.store import RunStore

__all__ = [
    "BusEffectPublisher",
    "DirectSend",
    "EffectPublisher",
    "InMemoryRunStore",
    "NatsRunStore",
    "RunStore",
    "Send",
    "TimerWithdrawal",
    "pending_timer_subject",
    "producer_headers",
    "route",
    "schedule_headers",
    "timer_subject",
]
