"""Timers: messages the executor schedules for later with JetStream message scheduling.

The executor publishes a timer on its own subject `pulse.timers.schedule.<run>.<step>.
<attempt>.<kind>` (stream `PULSE_TIMERS`, which allows schedules) with the headers
`Nats-Schedule: @at <due_at>` and `Nats-Schedule-Target: pulse.timers.fired.<kind>`; at
`due_at` the server stores a copy on the target subject, where the executor's durable
consumer receives it. Nothing sleeps and no consumer is held while a timer waits, and a
timer survives the restart of any executor.

What the server carries over: the body and the headers (`traceparent` included, so a
fired timer joins the run's trace) — but not `Nats-Msg-Id`: a schedule is deduplicated
when published, and its firing is made harmless by the executor's state (a timer for an
attempt that is no longer in flight is ignored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, TypeAdapter

from pulse_contracts.runs import RunScoped

__all__ = [
    "TIMER_ADAPTER",
    "RetryDue",
    "RunDeadlineDue",
    "StepTimeoutDue",
    "TimerBase",
    "TimerDue",
    "timer_message_id",
]


def timer_message_id(run_id: str, step_id: str, attempt: int, kind: str) -> str:
    """`run:step:attempt:<kind>` — one schedule per timer, dropped as a duplicate if resent."""
    return f"{run_id}:{step_id}:{attempt}:{kind}"


class TimerBase(RunScoped):
    kind: ClassVar[str]
    """The timer's kind: the last token of its subjects and of its `message_id`."""

    due_at: datetime = Field(description="When it fires (UTC).")


class StepTimeoutDue(TimerBase):
    """An attempt's time is up: `dispatched_at + timeout_s + grace`.

    If the attempt is still in flight it fails with `timed_out` (retryable), even when the
    agent-adapter that took it died; its result, should it still come, is ignored.
    """

    kind: ClassVar[str] = "timeout"
    type: Literal["timer.step_timeout"] = "timer.step_timeout"
    step_id: str
    attempt: int = Field(ge=1)
    timeout_s: float = Field(gt=0)


class RetryDue(TimerBase):
    """The back-off after a retryable failure is over: dispatch attempt `attempt`."""

    kind: ClassVar[str] = "retry"
    type: Literal["timer.retry"] = "timer.retry"
    step_id: str
    attempt: int = Field(ge=2, description="The attempt to dispatch now.")


class RunDeadlineDue(TimerBase):
    """The run's deadline: if it is still working it ends `failed` (`deadline_exceeded`)."""

    kind: ClassVar[str] = "deadline"
    type: Literal["timer.run_deadline"] = "timer.run_deadline"
    generation: int = Field(
        default=0, ge=0, description="The run's `restarts` when it was set; older ones are void."
    )


TimerDue = Annotated[StepTimeoutDue | RetryDue | RunDeadlineDue, Field(discriminator="type")]
TIMER_ADAPTER: TypeAdapter[TimerDue] = TypeAdapter(TimerDue)
