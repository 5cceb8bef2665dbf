"""Where a run's time went, read from its run events alone (pure: no I/O).

Timestamps come from the services themselves: `occurred_at` of the executor's events
(`StepDispatched`, `RunStarted`, the terminal event) and the agent-adapter's `started_at` /
`finished_at` of each tool call in `StepCompleted`. All services run on one machine, so
their clocks agree.

A *handoff* is the orchestration between a step and the step that waited for it: from the
predecessor's dispatch to its tool starting (the dispatch hop), plus from its tool finishing
to the next step's dispatch (the result hop, the state write and the next decision). It is
the time between the two dispatches minus the predecessor's own tool time — what Pulse adds
per step on a critical path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pulse_contracts.events import (
    RunCompleted,
    RunEvent,
    RunRejected,
    RunStarted,
    StepCompleted,
    StepDispatched,
    StepFailed,
)

__all__ = [
    "TERMINAL_EVENT_TYPES",
    "Handoff",
    "IncompleteRunError",
    "RunTiming",
    "StepTiming",
    "handoffs",
    "is_settled",
    "run_timing",
]

TERMINAL_EVENT_TYPES = frozenset({"run.completed", "run.failed", "run.rejected", "run.canceled"})


class IncompleteRunError(ValueError):
    """The events do not (yet) describe a finished run."""


@dataclass(frozen=True)
class StepTiming:
    step_id: str
    tool: str
    depends_on: tuple[str, ...]
    dispatched_at: datetime
    started_at: datetime
    finished_at: datetime
    completed: bool

    @property
    def tool_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RunTiming:
    run_id: str
    status: str
    started_at: datetime
    ended_at: datetime
    steps: dict[str, StepTiming]

    @property
    def first_dispatch(self) -> datetime:
        return min(s.dispatched_at for s in self.steps.values())

    @property
    def span_s(self) -> float:
        """First dispatch to the run's final event: the run's wall time on the bus."""
        return (self.ended_at - self.first_dispatch).total_seconds()

    @property
    def start_spread_s(self) -> float:
        """First to last tool start: for independent steps, how far apart they really began."""
        starts = [s.started_at for s in self.steps.values()]
        return (max(starts) - min(starts)).total_seconds()

    @property
    def finish_s(self) -> float:
        """The last tool's end to the run's final event."""
        return (self.ended_at - max(s.finished_at for s in self.steps.values())).total_seconds()


@dataclass(frozen=True)
class Handoff:
    step_id: str
    after: str
    dispatch_hop_s: float
    result_hop_s: float

    @property
    def total_s(self) -> float:
        return self.dispatch_hop_s + self.result_hop_s


def _unique(events: Iterable[RunEvent]) -> list[RunEvent]:
    # A redelivered message can make a service publish an event again; its id is the same.
    seen: dict[str, RunEvent] = {}
    for event in events:
        seen.setdefault(event.message_id, event)
    return sorted(seen.values(), key=lambda e: e.seq)


def is_settled(events: Sequence[RunEvent]) -> bool:
    """True once the terminal event and every planned step's outcome are in."""
    if any(e.type == "run.rejected" for e in events):
        return True
    try:
        run_timing(events)
    except IncompleteRunError:
        return False
    return True


def run_timing(events: Sequence[RunEvent]) -> RunTiming:
    """The run's timing; raises IncompleteRunError if an event it needs is missing."""
    ordered = _unique(events)
    started = next((e for e in ordered if isinstance(e, RunStarted)), None)
    # After a restart a run has more than one final event; the last one counts.
    terminal = next((e for e in reversed(ordered) if e.type in TERMINAL_EVENT_TYPES), None)
    if terminal is None:
        raise IncompleteRunError("no terminal event")
    if isinstance(terminal, RunRejected):
        raise IncompleteRunError("the run was rejected: it has no steps")
    if started is None:
        raise IncompleteRunError("no run.started event")
    dispatches: dict[tuple[str, int], StepDispatched] = {}
    outcomes: dict[str, StepCompleted | StepFailed] = {}
    for event in ordered:
        if isinstance(event, StepDispatched):
            dispatches[(event.step_id, event.attempt)] = event
        elif isinstance(event, StepCompleted | StepFailed):
            outcomes[event.step_id] = event
    steps: dict[str, StepTiming] = {}
    for planned in started.plan.steps:
        outcome = outcomes.get(planned.id)
        if outcome is None:
            if isinstance(terminal, RunCompleted):
                raise IncompleteRunError(f"no outcome of step {planned.id} yet")
            continue  # a failed run may leave steps that never ran
        dispatch = dispatches.get((planned.id, outcome.attempt))
        if dispatch is None:
            raise IncompleteRunError(f"no dispatch of step {planned.id} attempt {outcome.attempt}")
        steps[planned.id] = StepTiming(
            step_id=planned.id,
            tool=planned.tool,
            depends_on=tuple(planned.depends_on),
            dispatched_at=dispatch.occurred_at,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            completed=isinstance(outcome, StepCompleted),
        )
    if not steps:
        raise IncompleteRunError("no step finished")
    return RunTiming(
        run_id=terminal.run_id,
        status=terminal.type.removeprefix("run."),
        started_at=started.occurred_at,
        ended_at=terminal.occurred_at,
        steps=steps,
    )


def handoffs(run: RunTiming) -> list[Handoff]:
    """One handoff per step that waited for another, from the predecessor that finished last."""
    found: list[Handoff] = []
    for step in run.steps.values():
        before = [run.steps[d] for d in step.depends_on if d in run.steps]
        if not before:
            continue
        critical = max(before, key=lambda s: s.finished_at)
        found.append(
            Handoff(
                step_id=step.step_id,
                after=critical.step_id,
                dispatch_hop_s=(critical.started_at - critical.dispatched_at).total_seconds(),
                result_hop_s=(step.dispatched_at - critical.finished_at).total_seconds(),
            )
        )
    return found
