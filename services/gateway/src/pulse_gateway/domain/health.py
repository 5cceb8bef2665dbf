"""How healthy each component looks from the bus: its durable consumers' lag and whether
anyone is pulling from them.

The gateway does not know where the other services run (in Kubernetes they are behind
Services it has no reason to reach), but every service's work arrives through a durable
pull consumer, and JetStream knows for each one how much waits (`num_pending`), how much is
in flight (`num_ack_pending`) and how many pull requests are waiting (`num_waiting`): an
idle but alive service always has a pull request outstanding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from pulse_contracts import subjects

__all__ = [
    "COMPONENT_OF",
    "ComponentHealth",
    "ConsumerHealth",
    "ConsumerLag",
    "Health",
    "component_health",
    "consumer_health",
    "overall",
]

D = subjects.Durable
COMPONENT_OF: Final[Mapping[str, str]] = {
    D.PLANNER: "planner",
    D.EXECUTOR_PLANS: "executor",
    D.EXECUTOR_REJECTIONS: "executor",
    D.EXECUTOR_RESULTS: "executor",
    D.EXECUTOR_TIMERS: "executor",
    D.EXECUTOR_CANCEL: "executor",
    D.EXECUTOR_RESTART: "executor",
    D.AGENT_ADAPTER: "agent-adapter",
    D.ARCHIVER: "archiver",
}
"""Which service owns each durable consumer (a test checks every `Durable` is here)."""


class Health(StrEnum):
    UP = "up"
    """Someone is pulling (or working through what it pulled)."""
    DOWN = "down"
    """Nobody is pulling: the service is not running, or stuck."""
    MISSING = "missing"
    """The consumer does not exist: the service never started against this NATS."""

    @property
    def rank(self) -> int:
        return {Health.UP: 0, Health.DOWN: 1, Health.MISSING: 2}[self]


@dataclass(frozen=True)
class ConsumerLag:
    """What JetStream says about one durable consumer (None fields: it does not exist)."""

    stream: str | None
    durable: str
    num_pending: int = 0
    num_ack_pending: int = 0
    num_waiting: int = 0
    num_redelivered: int = 0
    last_active: datetime | None = None
    exists: bool = True


@dataclass(frozen=True)
class ConsumerHealth:
    lag: ConsumerLag
    health: Health


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    health: Health
    consumers: tuple[ConsumerHealth, ...]

    @property
    def pending(self) -> int:
        return sum(c.lag.num_pending for c in self.consumers)


def consumer_health(lag: ConsumerLag) -> Health:
    if not lag.exists:
        return Health.MISSING
    if lag.num_waiting > 0 or lag.num_ack_pending > 0:
        return Health.UP
    return Health.DOWN


def component_health(lags: Iterable[ConsumerLag]) -> list[ComponentHealth]:
    """One entry per component, in a stable order, each as healthy as its worst consumer."""
    grouped: dict[str, list[ConsumerHealth]] = {}
    for lag in lags:
        name = COMPONENT_OF.get(lag.durable)
        if name is not None:
            grouped.setdefault(name, []).append(ConsumerHealth(lag, consumer_health(lag)))
    return [
        ComponentHealth(
            name,
            max((c.health for c in consumers), key=lambda h: h.rank),
            tuple(sorted(consumers, key=lambda c: c.lag.durable)),
        )
        for name, consumers in sorted(grouped.items())
    ]


def overall(components: Iterable[ComponentHealth], dependencies: Mapping[str, bool]) -> str:
    """`ok` when every dependency answers and every component is up, else `degraded`."""
    if not all(dependencies.values()):
        return "degraded"
    return "ok" if all(c.health is Health.UP for c in components) else "degraded"
