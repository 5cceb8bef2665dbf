"""Timers a transition made moot, so they can be withdrawn before they fire for nothing.

Every dispatched attempt schedules its timeout, every working run its deadline, and most
attempts finish long before their timeout: left alone, each of those timers would come
back through JetStream only to be ignored (the attempt is no longer in flight, the run is
over). A transition that ends what a timer was waiting for names it here, and the
coordinator withdraws it after the state is stored.

Withdrawing is an optimisation, never needed for correctness: a timer that could not be
withdrawn fires and is ignored, as before. And it can never remove a timer that is still
needed, because a timer's identity (run, step, attempt, kind) is never reused: attempt
numbers only grow, and a restarted run's deadline carries its new generation.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse_contracts import RetryDue, RunDeadlineDue, StepStatus, StepTimeoutDue, timer_message_id
from pulse_executor.domain.state import ExecutorRunState

__all__ = ["PendingTimer", "moot_timers"]

RUN_LEVEL = "-"
"""The step id of a run-level timer (the deadline), as in its message id and subject."""


@dataclass(frozen=True, slots=True)
class PendingTimer:
    """One scheduled timer, by the identity its message id and subject are built from."""

    run_id: str
    step_id: str
    attempt: int
    """The attempt the timer is for (a retry: the attempt it dispatches; a deadline: the
    run's restarts)."""
    kind: str


def moot_timers(
    before: ExecutorRunState, after: ExecutorRunState, cause: str | None
) -> tuple[PendingTimer, ...]:
    """Timers `before` was waiting on that `after` no longer needs.

    A timer that is itself being applied (`cause`) has fired already and is left out.
    """
    run_id = after.run_id
    found: list[PendingTimer] = []
    for sid, was in before.steps.items():
        now = after.steps.get(sid)
        if was.status is StepStatus.DISPATCHED and not (
            now is not None and now.status is StepStatus.DISPATCHED and now.attempt == was.attempt
        ):
            found.append(PendingTimer(run_id, sid, was.attempt, StepTimeoutDue.kind))
        if was.status is StepStatus.RETRYING and not (
            now is not None and now.status is StepStatus.RETRYING and now.attempt == was.attempt
        ):
            found.append(PendingTimer(run_id, sid, was.attempt + 1, RetryDue.kind))
    if not before.status.is_terminal and after.status.is_terminal and before.deadline_at:
        found.append(PendingTimer(run_id, RUN_LEVEL, before.restarts, RunDeadlineDue.kind))
    return tuple(
        timer
        for timer in found
        if timer_message_id(run_id, timer.step_id, timer.attempt, timer.kind) != cause
    )
