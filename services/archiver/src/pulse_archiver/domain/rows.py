"""The archive's rows as plain values: a run, its steps, and a run read back with its steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pulse_contracts import JsonValue, RunStatus, StepStatus

__all__ = ["NO_STATE", "ArchivedRun", "RunRow", "StepRow"]

NO_STATE = -1
"""`state_seq` of a run row no run-level event has described yet (seq starts at 0)."""


@dataclass(frozen=True, kw_only=True)
class RunRow:
    """One run as the archive keeps it (table `runs`).

    `last_seq` is the newest event applied to the run; `state_seq` the newest *run-level*
    event (started, rejected, completed, failed), which alone decides status, result, error
    and usage — so a step event numbered after a run's end cannot make it `working` again.
    """

    run_id: str
    tenant: str
    prompt: str | None = None
    status: RunStatus = RunStatus.WORKING
    planner: str | None = None
    plan: JsonValue = None
    result: JsonValue = None
    error: JsonValue = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    trace_id: str | None = None
    created_at: datetime
    updated_at: datetime
    last_seq: int
    state_seq: int = NO_STATE


@dataclass(frozen=True, kw_only=True)
class StepRow:
    """One step of a run (table `steps`), as of its newest event (`last_seq`)."""

    run_id: str
    step_id: str
    tool: str
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0
    input: JsonValue = None
    output: JsonValue = None
    error: JsonValue = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    last_seq: int


@dataclass(frozen=True)
class ArchivedRun:
    """A run read back from the archive, with its steps in plan order."""

    run: RunRow
    steps: tuple[StepRow, ...]
