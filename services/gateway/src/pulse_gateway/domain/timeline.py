"""A run's timeline: every attempt at every step laid out in time, from the run's events.

This is what `pulse trace` draws. Each attempt has the moment it was dispatched, the moment
its agent started and finished it, who ran it, its usage and its typed error; the run has
its status, its time span, its usage, its trace id and its restarts. The events come from
the archive, which may be incomplete (a run still working, an event not archived yet), so
every time is optional and a missing event leaves a gap rather than an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from pulse_contracts import (
    ErrorInfo,
    Plan,
    RunCanceled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunRejected,
    RunRestarted,
    RunStarted,
    RunStatus,
    StepCanceled,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    Usage,
)

__all__ = [
    "AttemptStatus",
    "AttemptTimeline",
    "RestartMark",
    "RunTimeline",
    "StepTimeline",
    "build_timeline",
]

AttemptStatus = Literal["running", "completed", "failed", "retried", "canceled", "unknown"]
"""`retried`: failed, and a next attempt was scheduled. `unknown`: the run ended without a
word about this attempt (its outcome event is missing)."""


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds() * 1000, 0.0)


@dataclass(frozen=True)
class AttemptTimeline:
    step_id: str
    tool: str
    attempt: int
    agent: str | None
    restart: int
    """How many times the run had been restarted when this attempt went out (0: never)."""
    status: AttemptStatus
    dispatched_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    usage: Usage = field(default_factory=Usage)
    error: ErrorInfo | None = None
    retry_at: datetime | None = None

    @property
    def queue_wait_ms(self) -> float | None:
        """From dispatch until the agent started it."""
        return _ms(self.dispatched_at, self.started_at)

    @property
    def duration_ms(self) -> float | None:
        """The agent's work, from start to finish."""
        return _ms(self.started_at, self.finished_at)

    @property
    def began_at(self) -> datetime | None:
        """The earliest moment known of this attempt (to order attempts in time)."""
        return self.dispatched_at or self.started_at or self.finished_at


@dataclass(frozen=True)
class StepTimeline:
    step_id: str
    tool: str
    agent: str
    """The agent profile the plan named."""
    depends_on: tuple[str, ...]
    status: str
    """The last attempt's status, else `pending` (the run goes on) or `skipped`."""
    attempts: tuple[AttemptTimeline, ...]


@dataclass(frozen=True)
class RestartMark:
    restarts: int
    at: datetime
    reason: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class RunTimeline:
    run_id: str
    tenant: str
    status: RunStatus
    prompt: str
    planner: str | None
    trace_id: str | None
    created_at: datetime
    """The run's first recorded moment: the origin of its time axis."""
    finished_at: datetime | None
    usage: Usage
    error: ErrorInfo | None
    restarts: tuple[RestartMark, ...]
    steps: tuple[StepTimeline, ...]
    source: Literal["archive", "live"] = "archive"
    live_restarts: int = 0
    """How many restarts the live state counts (a live timeline has no restart marks)."""

    @property
    def restart_count(self) -> int:
        return max((m.restarts for m in self.restarts), default=self.live_restarts)

    @property
    def duration_ms(self) -> float | None:
        return _ms(self.created_at, self.finished_at)

    @property
    def attempts(self) -> list[AttemptTimeline]:
        """Every attempt, in the order they went out."""
        order = {s.step_id: i for i, s in enumerate(self.steps)}
        rows = [a for s in self.steps for a in s.attempts]
        far = datetime.max.replace(tzinfo=self.created_at.tzinfo)
        return sorted(
            rows, key=lambda a: (a.restart, a.began_at or far, order[a.step_id], a.attempt)
        )


@dataclass
class _Builder:
    """Folds the events of one run, in `seq` order, into what the timeline needs."""

    run_id: str = ""
    tenant: str = "default"
    trace_id: str | None = None
    prompt: str = ""
    planner: str | None = None
    plan: Plan | None = None
    status: RunStatus = RunStatus.SUBMITTED
    created_at: datetime | None = None
    finished_at: datetime | None = None
    usage: Usage | None = None
    error: ErrorInfo | None = None
    restart: int = 0
    restarts: list[RestartMark] = field(default_factory=list)
    attempts: dict[tuple[str, int], AttemptTimeline] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)

    def fold(self, event: RunEvent) -> None:
        self.run_id, self.tenant = event.run_id, event.tenant
        self.trace_id = self.trace_id or event.trace_id
        at = event.occurred_at
        self.created_at = at if self.created_at is None else min(self.created_at, at)
        match event:
            case StepDispatched() | StepCompleted() | StepFailedEvent() | StepCanceled():
                self._step(event)
            case _:
                self._run(event)

    def _run(self, event: RunEvent) -> None:
        match event:
            case RunStarted():
                self.prompt, self.planner = event.prompt, event.planner
                self.plan = self.plan or event.plan
                self.status = RunStatus.WORKING
            case RunRestarted():
                self.restart = max(self.restart, event.restarts)
                self.restarts.append(
                    RestartMark(event.restarts, event.occurred_at, event.reason, tuple(event.steps))
                )
                # The run works again: its earlier end no longer stands.
                self.status, self.finished_at = RunStatus.WORKING, None
                self.usage = self.error = None
            case RunCompleted() | RunFailed() | RunCanceled():
                self.status = {
                    "run.completed": RunStatus.COMPLETED,
                    "run.failed": RunStatus.FAILED,
                    "run.canceled": RunStatus.CANCELED,
                }[event.type]
                self.finished_at = event.occurred_at
                self.usage, self.error = event.usage, event.error
            case RunRejected():
                self.prompt = self.prompt or event.prompt
                self.status, self.finished_at = RunStatus.REJECTED, event.occurred_at
                self.error = event.error

    def _step(self, event: StepDispatched | StepCompleted | StepFailedEvent | StepCanceled) -> None:
        self.tools.setdefault(event.step_id, event.tool)
        key = (event.step_id, event.attempt)
        known = self.attempts.get(key) or AttemptTimeline(
            step_id=event.step_id,
            tool=event.tool,
            attempt=event.attempt,
            agent=None,
            restart=self.restart,
            status="running",
        )
        match event:
            case StepDispatched():
                known = replace(known, dispatched_at=event.occurred_at)
            case StepCompleted():
                known = replace(
                    known,
                    status="completed",
                    agent=event.agent or known.agent,
                    started_at=event.started_at,
                    finished_at=event.finished_at,
                    usage=event.usage,
                    error=None,
                )
            case StepFailedEvent():
                known = replace(
                    known,
                    status="retried" if event.retry_at is not None else "failed",
                    agent=event.agent or known.agent,
                    started_at=event.started_at,
                    finished_at=event.finished_at,
                    error=event.error,
                    retry_at=event.retry_at,
                )
            case StepCanceled():
                # A canceled attempt keeps what its start was, if anything reported one.
                known = replace(
                    known, status="canceled", finished_at=event.finished_at, error=event.error
                )
        self.attempts[key] = known

    def step_order(self) -> list[str]:
        planned = [s.id for s in self.plan.steps] if self.plan else []
        seen = set(planned)
        extra = [sid for sid, _ in sorted(self.attempts) if sid not in seen]
        return planned + list(dict.fromkeys(extra))

    def build(self) -> RunTimeline:
        assert self.created_at is not None
        ended = self.status.is_terminal
        steps: list[StepTimeline] = []
        for sid in self.step_order():
            spec = next((s for s in self.plan.steps if s.id == sid), None) if self.plan else None
            profile = spec.agent if spec else "default"
            attempts = tuple(
                replace(
                    a,
                    agent=a.agent or profile,
                    status="unknown" if ended and a.status == "running" else a.status,
                )
                for (step_id, _), a in sorted(self.attempts.items())
                if step_id == sid
            )
            status = attempts[-1].status if attempts else ("skipped" if ended else "pending")
            steps.append(
                StepTimeline(
                    step_id=sid,
                    tool=spec.tool if spec else self.tools.get(sid, "?"),
                    agent=profile,
                    depends_on=tuple(spec.depends_on) if spec else (),
                    status=status,
                    attempts=attempts,
                )
            )
        usage = self.usage
        if usage is None:
            usage = sum((a.usage for s in steps for a in s.attempts), Usage())
        return RunTimeline(
            run_id=self.run_id,
            tenant=self.tenant,
            status=self.status,
            prompt=self.prompt,
            planner=self.planner,
            trace_id=self.trace_id,
            created_at=self.created_at,
            finished_at=self.finished_at,
            usage=usage,
            error=self.error,
            restarts=tuple(self.restarts),
            steps=tuple(steps),
        )


def build_timeline(events: Iterable[RunEvent]) -> RunTimeline:
    """The timeline of one run from its events, in any order and with repeats.

    Raises `ValueError` when there is no event at all (nothing to say about the run).
    """
    unique = {e.message_id: e for e in events}
    if not unique:
        raise ValueError("a timeline needs at least one event of the run")
    builder = _Builder()
    for event in sorted(unique.values(), key=lambda e: (e.seq, e.occurred_at)):
        builder.fold(event)
    return builder.build()
