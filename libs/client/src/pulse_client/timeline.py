"""A run's timeline as `GET /v1/runs/{id}/timeline` returns it, typed for `pulse trace`.

Unknown fields are ignored and statuses and error codes are plain strings, so a newer
gateway does not break an older client.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Timeline",
    "TimelineAttempt",
    "TimelineError",
    "TimelineRestart",
    "TimelineStep",
    "TimelineUsage",
]

_LENIENT = ConfigDict(extra="ignore", frozen=True)
_TERMINAL = frozenset({"completed", "failed", "canceled", "rejected"})


class TimelineUsage(BaseModel):
    model_config = _LENIENT

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class TimelineError(BaseModel):
    model_config = _LENIENT

    code: str
    message: str = ""
    step_id: str | None = None
    retryable: bool = False


class TimelineAttempt(BaseModel):
    model_config = _LENIENT

    step_id: str
    tool: str
    attempt: int
    agent: str | None = None
    restart: int = 0
    status: str
    dispatched_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    queue_wait_ms: float | None = None
    duration_ms: float | None = None
    usage: TimelineUsage = Field(default_factory=TimelineUsage)
    error: TimelineError | None = None
    retry_at: datetime | None = None

    @property
    def began_at(self) -> datetime | None:
        return self.dispatched_at or self.started_at or self.finished_at

    @property
    def last_known(self) -> datetime | None:
        return self.finished_at or self.started_at or self.dispatched_at


class TimelineStep(BaseModel):
    model_config = _LENIENT

    step_id: str
    tool: str
    agent: str = "default"
    depends_on: list[str] = Field(default_factory=list)
    status: str
    attempts: list[TimelineAttempt] = Field(default_factory=list)


class TimelineRestart(BaseModel):
    model_config = _LENIENT

    restarts: int
    at: datetime
    reason: str = ""
    steps: list[str] = Field(default_factory=list)


class Timeline(BaseModel):
    model_config = _LENIENT

    run_id: str
    status: str
    prompt: str = ""
    planner: str | None = None
    trace_id: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    duration_ms: float | None = None
    usage: TimelineUsage = Field(default_factory=TimelineUsage)
    error: TimelineError | None = None
    restarts: int = 0
    restart_history: list[TimelineRestart] = Field(default_factory=list)
    steps: list[TimelineStep] = Field(default_factory=list)
    source: str = "archive"

    def attempts(self) -> list[TimelineAttempt]:
        """Every attempt in the order they went out (restarts first, then time, then plan)."""
        order = {s.step_id: i for i, s in enumerate(self.steps)}
        rows = [a for s in self.steps for a in s.attempts]
        far = datetime.max.replace(tzinfo=self.created_at.tzinfo)
        return sorted(
            rows, key=lambda a: (a.restart, a.began_at or far, order[a.step_id], a.attempt)
        )

    @property
    def ended_at(self) -> datetime:
        """The right end of the time axis: the latest moment known (the run's end, if it
        ended and nothing was recorded after it)."""
        known = [t for a in self.attempts() if (t := a.last_known) is not None]
        known += [r.at for r in self.restart_history]
        if self.finished_at is not None:
            known.append(self.finished_at)
        return max([self.created_at, *known])

    @property
    def settled(self) -> bool:
        """The run ended, and the archive has an outcome for every attempt it dispatched
        (the archiver may write a run's last events a moment after its end)."""
        ended = self.status in _TERMINAL and self.source == "archive"
        return ended and all(a.status not in ("running", "unknown") for a in self.attempts())

    @property
    def attempt_count(self) -> int:
        return sum(len(s.attempts) for s in self.steps)
