"""LLM usage rolled up per step, run, agent and tenant.

Each call's usage is one `UsageRecord`. `UsageRollup` folds records into documents:
`tenant.<tenant>` (with a break-down by agent), `agent.<agent>` (by tenant) and
`run.<run_id>` (by step and by agent). The step's own usage also travels in its
`TaskFinished`; these documents add the calls no step made (the planner's) and the
per-agent and per-tenant views.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class _Sum:
    """Running totals of one `Usage`, summed as `Usage.__add__` sums (cost rounded)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, usage: Usage) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cost_usd = round(self.cost_usd + usage.cost_usd, 10)

    def usage(self) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=self.cost_usd,
        )


@dataclass
class _Tally:
    """A pending delta in plain numbers: a call folds in without building any model."""

    kind: str
    name: str
    total: _Sum = field(default_factory=_Sum)
    calls: int = 0
    cached_calls: int = 0
    by: dict[str, _Sum] = field(default_factory=dict)

    def add(self, by: str, record: UsageRecord) -> None:
        self.total.add(record.usage)
        self.calls += 1
        self.cached_calls += 1 if record.cached else 0
        part = self.by.get(by)
        if part is None:
            part = self.by[by] = _Sum()
        part.add(record.usage)

    def doc(self) -> UsageDoc:
        return UsageDoc(
            kind=self.kind,
            name=self.name,
            total=self.total.usage(),
            calls=self.calls,
            cached_calls=self.cached_calls,
            by={key: part.usage() for key, part in self.by.items()},
        )


class UsageRollup:
    """Pending deltas by document key, until `drain` hands them over.

    Every LLM call adds to three documents; they are tallied in plain numbers and become
    `UsageDoc`s only when drained (every flush), not three models and merges per call.
    """

    def __init__(self) -> None:
        self._pending: dict[str, _Tally] = {}
        self._restored: dict[str, UsageDoc] = {}

    def __len__(self) -> int:
        return len(self._pending.keys() | self._restored.keys())

    def add(self, record: UsageRecord) -> None:
        self._fold("tenant", record.tenant, record.agent, record)
        self._fold("agent", record.agent, record.tenant, record)
        if record.run_id is not None:
            self._fold("run", record.run_id, record.step_id or f"agent:{record.agent}", record)

    def _fold(self, kind: str, name: str, by: str, record: UsageRecord) -> None:
        key = f"{kind}.{kv_token(name)}"
        tally = self._pending.get(key)
        if tally is None:
            tally = self._pending[key] = _Tally(kind, name)
        tally.add(by, record)

    def drain(self) -> dict[str, UsageDoc]:
        pending, self._pending = self._pending, {}
        docs, self._restored = self._restored, {}
        for key, tally in pending.items():
            delta = tally.doc()
            earlier = docs.get(key)
            docs[key] = delta if earlier is None else earlier.merged(delta)
        return docs

    def restore(self, deltas: dict[str, UsageDoc]) -> None:
        """Put deltas that could not be written back, to be tried with the next batch."""
        for key, delta in deltas.items():
            current = self._restored.get(key)
            self._restored[key] = delta if current is None else delta.merged(current)
