"""A run's live progress as terminal lines, one per event: steps starting and finishing,
tokens and cost as they add up, time since submission."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pulse_client.render import short
from pulse_contracts import (
    RunCanceled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunRejected,
    RunRestarted,
    RunStarted,
    StepCanceled,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    Usage,
)

__all__ = ["Progress"]


def _tokens(usage: Usage) -> str:
    total = usage.prompt_tokens + usage.completion_tokens
    return f"{total} tok ${usage.cost_usd:.6f}" if total or usage.cost_usd else ""


@dataclass
class Progress:
    """Feed it events in order; it returns the line to print for each (or None)."""

    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    usage: Usage = field(default_factory=Usage)
    steps_done: int = 0
    steps_total: int = 0

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()

    def _at(self) -> str:
        return f"+{self.clock() - self.started:6.2f}s"

    def line(self, event: RunEvent) -> str | None:
        text = self._describe(event)
        return None if text is None else f"  {self._at()}  {text}"

    def _describe(self, event: RunEvent) -> str | None:
        match event:
            case RunStarted():
                self.steps_total = len(event.plan.steps)
                return f"planned: {self.steps_total} steps ({event.planner})"
            case StepDispatched():
                retry = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                return f"{event.step_id:<4} {event.tool:<16} started{retry}"
            case StepCompleted():
                self.steps_done += 1
                self.usage = self.usage + event.usage
                ms = (event.finished_at - event.started_at).total_seconds() * 1000
                cost = _tokens(event.usage)
                extra = f"  {cost}" if cost else ""
                return (
                    f"{event.step_id:<4} {event.tool:<16} done    {ms:7.0f} ms  "
                    f"-> {short(event.output, 50)}{extra}"
                )
            case StepFailedEvent():
                again = " (will retry)" if event.retry_at else ""
                return (
                    f"{event.step_id:<4} {event.tool:<16} FAILED{again}  "
                    f"{event.error.code.value}: {short(event.error.message, 60)}"
                )
            case StepCanceled():
                return f"{event.step_id:<4} {event.tool:<16} canceled"
            case RunRestarted():
                return f"restarted ({len(event.steps)} steps again)"
            case RunCompleted() | RunFailed() | RunCanceled():
                self.usage = event.usage
                return self._summary(event.type.removeprefix("run."))
            case RunRejected():
                return f"rejected: {short(event.error.message, 100)}"
        return None

    def _summary(self, status: str) -> str:
        u = self.usage
        return (
            f"run {status}: {self.steps_done}/{self.steps_total} steps, "
            f"{u.prompt_tokens}+{u.completion_tokens} tokens, ${u.cost_usd:.6f}, "
            f"{self.clock() - self.started:.2f} s"
        )
