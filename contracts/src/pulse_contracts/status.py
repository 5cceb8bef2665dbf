"""Run and step states. Run states are the A2A task states, so a run *is* an A2A task."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL_RUN_STATUSES", "RunStatus", "StepStatus"]


class RunStatus(StrEnum):
    SUBMITTED = "submitted"
    WORKING = "working"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    REJECTED = "rejected"
    """The goal could not be planned or was refused."""

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_RUN_STATUSES


TERMINAL_RUN_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.REJECTED}
)


class StepStatus(StrEnum):
    PENDING = "pending"
    """Waiting for the steps it depends on."""
    DISPATCHED = "dispatched"
    """Sent to an agent; its result has not come back yet."""
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Never ran: the run ended first, or a step it depends on failed (`on_failure: continue`)."""
    RETRYING = "retrying"
    """An attempt failed with a retryable error; the next one is dispatched at `retry_at`."""
    CANCELED = "canceled"
    """Was in flight when the run was canceled or ended; its agent was told to stop."""

    @property
    def is_terminal(self) -> bool:
        return self in {
            StepStatus.COMPLETED,
            StepStatus.FAILED,
            StepStatus.SKIPPED,
            StepStatus.CANCELED,
        }
