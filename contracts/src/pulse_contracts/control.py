"""Commands that steer a running run: cancel it, restart it, stop one of its tasks.

`CancelRun` and `RestartRun` are durable (stream `PULSE_RUNS`, consumed by the executor).
`CancelTask` is a broadcast on core NATS that every agent-adapter replica hears: it is a
hint to stop work whose result would be ignored anyway, so losing one costs only time.
"""

from __future__ import annotations

from pydantic import Field

from pulse_contracts.errors import ErrorInfo
from pulse_contracts.runs import RunScoped

__all__ = ["CancelRun", "CancelTask", "RestartRun", "control_message_id"]


def control_message_id(run_id: str, command: str, seen_seq: int) -> str:
    """`run:<run_id>:<command>:<seq>`: one command per state the requester saw, so two
    clicks on the same state are one message (JetStream drops the second)."""
    return f"run:{run_id}:{command}:{seen_seq}"


class CancelRun(RunScoped):
    """Cancel a run that has not ended: published on `pulse.runs.control.cancel`.

    The executor dispatches nothing more, marks steps in flight `canceled` (telling their
    agents to stop), skips the rest and ends the run `canceled`. A run that already ended
    is left as it is. Use `control_message_id(run_id, "cancel", seq)` as `message_id`.
    """

    reason: str = Field(default="canceled on request", min_length=1, max_length=1000)


class RestartRun(RunScoped):
    """Run a `failed` or `canceled` run again: published on `pulse.runs.control.restart`.

    Completed steps keep their outputs; every other step runs again, its attempt numbers
    continuing. The run goes back to `working` with a fresh deadline and its events' `seq`
    keeps increasing. Use `control_message_id(run_id, "restart", seq)` as `message_id`.
    """

    if_seq: int | None = Field(
        default=None,
        ge=0,
        description="Restart only if the run's state is still at this `seq` (the state the "
        "requester saw); unset: whenever the run is failed or canceled.",
    )
    reason: str = Field(default="restarted on request", min_length=1, max_length=1000)


class CancelTask(RunScoped):
    """Stop one attempt at a step: broadcast on core NATS `pulse.tasks.cancel.<run_id>`.

    Sent by the executor when the attempt timed out or its run ended. Every agent-adapter
    replica cancels the attempt if it is running it, and skips it if it arrives later.
    `message_id` is `run:step:attempt:cancel`.
    """

    step_id: str
    attempt: int = Field(ge=1)
    reason: ErrorInfo
