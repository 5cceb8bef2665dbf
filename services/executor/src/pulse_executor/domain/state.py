"""The run document the executor keeps: the contract's `RunState` plus its own bookkeeping.

An event's `seq` depends on the order results arrived in, which the contract's fields do
not record. Re-publishing a lost event after a crash must reuse its original `seq`, so the
executor stores, per event it emitted, its kind, step, attempt and seq. The other private
fields let a redelivered or late message be told apart from a new one, and keep what a
restart needs. All are additive: readers that parse the document as `RunState` (the
gateway) ignore them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pulse_contracts import RunState

__all__ = ["EmittedEvent", "EventKind", "ExecutorRunState", "attempt_key"]

EventKind = Literal[
    "run.started",
    "run.rejected",
    "run.completed",
    "run.failed",
    "run.canceled",
    "run.restarted",
    "step.dispatched",
    "step.completed",
    "step.failed",
    "step.canceled",
]


def attempt_key(step_id: str, attempt: int) -> str:
    return f"{step_id}:{attempt}"


class EmittedEvent(BaseModel):
    """One run event the executor committed to publish, enough to rebuild it from the state.

    Run-level events carry the run's number of restarts as `attempt` (their id includes
    it). `cause` is the id of the command that led to the event (cancel, restart), so a
    redelivered command is recognised.
    """

    model_config = ConfigDict(frozen=True)

    seq: int = Field(ge=1)
    kind: EventKind
    step_id: str | None = None
    attempt: int = 0
    at: datetime = Field(description="When the executor emitted it: the event's `occurred_at`.")
    cause: str | None = None


class ExecutorRunState(RunState):
    emitted: list[EmittedEvent] = Field(
        default_factory=list, description="Events emitted so far, in `seq` order."
    )
    deadline_s: float | None = Field(
        default=None, description="The run's time budget, granted again at each restart."
    )
    timeout_grace_s: float = Field(
        default=0.0,
        ge=0,
        description="Added to a step's `timeout_s` before its timeout timer fires, so an "
        "agent that enforces the timeout itself reports first.",
    )
    attempts_before: dict[str, int] = Field(
        default_factory=dict,
        description="Per step run again by the latest restart: its attempts before it. The "
        "retry budget counts only the attempts since.",
    )
    timed_out: list[str] = Field(
        default_factory=list,
        description="`step:attempt` of attempts failed by their timeout timer: a result that "
        "still arrives for one is late, not a redelivery, and is ignored.",
    )
    large_value_bytes: int = Field(
        default=256 * 1024,
        ge=1,
        description="A dispatched input whose JSON is larger sends its largest fields to "
        "the object store until it is not.",
    )
    state_budget_bytes: int = Field(
        default=512 * 1024,
        ge=1,
        description="Above this, the document's largest inline values (step outputs, input "
        "fields) move to the object store, so it and the events built from it fit a message.",
    )

    def editable_copy(self) -> ExecutorRunState:
        """A copy a transition may edit without touching `self` (which may be shared: the
        coordinator keeps the states it wrote).

        Cheaper than a deep copy: the run and each step are copied, and so is every
        container a transition edits in place (`steps`, `emitted`, `timed_out`,
        `attempts_before`); everything else — the plan, inputs, outputs, errors — is shared,
        because transitions only ever replace those values, never edit them.
        """
        run = self.model_copy()
        run.steps = {sid: step.model_copy() for sid, step in self.steps.items()}
        run.emitted = list(self.emitted)
        run.timed_out = list(self.timed_out)
        run.attempts_before = dict(self.attempts_before)
        run.trace_context = dict(self.trace_context)
        run.metadata = dict(self.metadata)
        run.result_refs = dict(self.result_refs)
        return run

    def emitted_seq(
        self, kinds: tuple[EventKind, ...], step_id: str | None = None, attempt: int = 0
    ) -> int | None:
        """`seq` of the first emitted event of one of `kinds` for this step and attempt."""
        for event in self.emitted:
            if event.kind in kinds and event.step_id == step_id and event.attempt == attempt:
                return event.seq
        return None

    def caused_by(self, message_id: str) -> EmittedEvent | None:
        """The event a command with this id led to, if it was applied."""
        for event in self.emitted:
            if event.cause == message_id:
                return event
        return None

    def attempts_since_restart(self, step_id: str) -> int:
        return self.steps[step_id].attempt - self.attempts_before.get(step_id, 0)
