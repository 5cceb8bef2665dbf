"""The run document the executor keeps: the contract's `RunState` plus its event log.

An event's `seq` depends on the order results arrived in, which the contract's fields do
not record. Re-publishing a lost event after a crash must reuse its original `seq`, so the
executor stores, per event it emitted, its kind, step, attempt and seq. The field is
additive: readers that parse the document as `RunState` (the gateway) ignore it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pulse_contracts import RunState

__all__ = ["EmittedEvent", "EventKind", "ExecutorRunState"]

EventKind = Literal[
    "run.started",
    "run.rejected",
    "run.completed",
    "run.failed",
    "step.dispatched",
    "step.completed",
    "step.failed",
]


class EmittedEvent(BaseModel):
    """One run event the executor committed to publish, enough to rebuild it from the state."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(ge=1)
    kind: EventKind
    step_id: str | None = None
    attempt: int = 0
    at: datetime = Field(description="When the executor emitted it: the event's `occurred_at`.")


class ExecutorRunState(RunState):
    emitted: list[EmittedEvent] = Field(
        default_factory=list, description="Events emitted so far, in `seq` order."
    )

    def emitted_seq(
        self, kinds: tuple[EventKind, ...], step_id: str | None = None, attempt: int = 0
    ) -> int | None:
        """`seq` of the first emitted event of one of `kinds` for this step and attempt."""
        for event in self.emitted:
            if event.kind in kinds and event.step_id == step_id and event.attempt == attempt:
                return event.seq
        return None
