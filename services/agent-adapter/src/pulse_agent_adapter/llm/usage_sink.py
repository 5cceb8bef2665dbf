"""Where the gateway reports each call's usage (the KV roll-up, or nowhere)."""

from __future__ import annotations

from typing import Protocol

from pulse_agent_adapter.llm.accounting.usage import UsageRecord, UsageRollup

__all__ = ["MemoryUsageSink", "UsageSink"]


class UsageSink(Protocol):
    def record(self, record: UsageRecord) -> None: ...


class MemoryUsageSink:
    """Keeps the roll-up in memory: tests, and a gateway without NATS."""

    def __init__(self) -> None:
        self.rollup = UsageRollup()
        self.records: list[UsageRecord] = []

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)
        self.rollup.add(record)
