"""LLM usage rolled up per step, run, agent and tenant.

Each call's usage is one `UsageRecord`. `UsageRollup` folds records into documents:
`tenant.<tenant>` (with a break-down by agent), `agent.<agent>` (by tenant) and
`run.<run_id>` (by step and by agent). The step's own usage also travels in its
`TaskFinished`; these documents add the calls no step made (the planner's) and the
per-agent and per-tenant views.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from pulse_agent_adapter.llm.kv_keys import kv_token
from pulse_contracts import Usage

__all__ = ["UsageDoc", "UsageRecord", "UsageRollup"]


@dataclass(frozen=True)
class UsageRecord:
    tenant: str
    agent: str
    provider: str
    model: str
    usage: Usage
    run_id: str | None = None
    step_id: str | None = None
    cached: bool = False


class UsageDoc(BaseModel):
    """Totals of one tenant, agent or run; `by` breaks them down one level further."""

    kind: str
    name: str
    total: Usage = Field(default_factory=Usage)
    calls: int = 0
    cached_calls: int = 0
    by: dict[str, Usage] = Field(default_factory=dict)

    def merged(self, other: UsageDoc) -> UsageDoc:
        by = dict(self.by)
        for key, usage in other.by.items():
            by[key] = by.get(key, Usage()) + usage
        return self.model_copy(
            update={
                "total": self.total + other.total,
                "calls": self.calls + other.calls,
                "cached_calls": self.cached_calls + other.cached_calls,
                "by": by,
            }
        )


class UsageRollup:
    """Pending deltas by document key, until `drain` hands them over."""

    def __init__(self) -> None:
        self._pending: dict[str, UsageDoc] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, record: UsageRecord) -> None:
        self._fold("tenant", record.tenant, record.agent, record)
        self._fold("agent", record.agent, record.tenant, record)
        if record.run_id is not None:
            self._fold("run", record.run_id, record.step_id or f"agent:{record.agent}", record)

    def _fold(self, kind: str, name: str, by: str, record: UsageRecord) -> None:
        delta = UsageDoc(
            kind=kind,
            name=name,
            total=record.usage,
            calls=1,
            cached_calls=1 if record.cached else 0,
            by={by: record.usage},
        )
        key = f"{kind}.{kv_token(name)}"
        current = self._pending.get(key)
        self._pending[key] = delta if current is None else current.merged(delta)

    def drain(self) -> dict[str, UsageDoc]:
        pending, self._pending = self._pending, {}
        return pending

    def restore(self, deltas: dict[str, UsageDoc]) -> None:
        """Put deltas that could not be written back, to be tried with the next batch."""
        for key, delta in deltas.items():
            current = self._pending.get(key)
            self._pending[key] = delta if current is None else delta.merged(current)
