"""A transition's result, and the draft a transition edits while it is being decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pulse_executor.domain.compaction import compact
from pulse_executor.domain.effects import Effect, build_event, commands_for, implied_effects
from pulse_executor.domain.inputs import BlobUpload
from pulse_executor.domain.references import NOTHING_READ, ReadBlobs
from pulse_executor.domain.state import EmittedEvent, EventKind, ExecutorRunState
from pulse_executor.domain.withdrawals import PendingTimer, moot_timers

__all__ = ["Draft", "Outcome", "Transition", "duplicate", "ignored"]

Outcome = Literal["changed", "duplicate", "ignored"]


@dataclass(frozen=True)
class Transition:
    state: ExecutorRunState | None
    """The state to store when `outcome` is `changed`; otherwise the state as it was."""
    effects: tuple[Effect, ...] = ()
    outcome: Outcome = "ignored"
    note: str = ""
    """What happened, in words, for the one log line per state change."""
    uploads: tuple[BlobUpload, ...] = ()
    """Values moved to the object store, to write before `state` is stored."""
    withdrawals: tuple[PendingTimer, ...] = ()
    """Timers the change made moot, to withdraw once `state` is stored (best effort)."""

    @property
    def changed(self) -> bool:
        return self.outcome == "changed"


class Draft:
    """A copy of the state that one transition edits, and the events it emits.

    The copy is `ExecutorRunState.editable_copy`: the input state is never changed, so the
    coordinator may keep it.
    """

    def __init__(
        self,
        state: ExecutorRunState,
        now: datetime,
        cause: str | None = None,
        *,
        read: ReadBlobs = NOTHING_READ,
    ) -> None:
        self._before = state
        self.state = state.editable_copy()
        self.now = now
        self.cause = cause
        """Id of the command or timer being applied: every event it leads to names it, so
        a redelivery of it is recognised (`ExecutorRunState.caused_by`)."""
        self.read = read
        """Stored outputs the coordinator read for this transition (see `references`)."""
        self.uploads: list[BlobUpload] = []
        self._marks: list[EmittedEvent] = []

    def emit(self, kind: EventKind, step_id: str | None = None, attempt: int = 0) -> None:
        mark = EmittedEvent(
            seq=self.state.seq + 1,
            kind=kind,
            step_id=step_id,
            attempt=attempt,
            at=self.now,
            cause=self.cause,
        )
        self.state.seq = mark.seq
        self.state.emitted.append(mark)
        self._marks.append(mark)

    def emit_run(self, kind: EventKind) -> None:
        """A run-level event: its id carries the run's restarts, so each life has its own."""
        self.emit(kind, None, self.state.restarts)

    def finish(self, note: str) -> Transition:
        """Built from the final state, exactly as `implied_effects` would rebuild them."""
        self.state.updated_at = self.now
        self.uploads.extend(compact(self.state))
        events: list[Effect] = []
        commands: list[Effect] = []
        for mark in self._marks:
            event = build_event(self.state, mark)
            assert event is not None, f"{mark.kind} must be buildable from its own transition"
            events.append(event)
            commands.extend(commands_for(self.state, mark))
        return Transition(
            self.state,
            (*events, *commands),
            "changed",
            note,
            uploads=tuple(self.uploads),
            withdrawals=moot_timers(self._before, self.state, self.cause),
        )


def ignored(state: ExecutorRunState | None, note: str) -> Transition:
    return Transition(state, (), "ignored", note)


def duplicate(state: ExecutorRunState, since_seq: int | None, note: str) -> Transition:
    return Transition(state, implied_effects(state, since_seq), "duplicate", note)
