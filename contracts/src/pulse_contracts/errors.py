"""One error taxonomy for the whole system.

`ErrorInfo` is the wire form (inside results, events, dead letters and HTTP problems);
`PulseError` and its subclasses are the raised form. Both carry the run and step they
belong to, so an error found in a log or the archive leads straight to its run.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "Canceled",
    "DeadlineExceeded",
    "ErrorCode",
    "ErrorInfo",
    "InvalidMessage",
    "PlanningFailed",
    "PulseError",
    "StepFailed",
    "StepTimedOut",
    "ToolFailed",
    "ToolNotFound",
    "UnresolvedReference",
    "invalid_message_info",
]


class ErrorCode(StrEnum):
    INVALID_MESSAGE = "invalid_message"
    PLANNING_FAILED = "planning_failed"
    TOOL_NOT_FOUND = "tool_not_found"
    TOOL_FAILED = "tool_failed"
    UNRESOLVED_REFERENCE = "unresolved_reference"
    STEP_FAILED = "step_failed"
    INTERNAL = "internal"
    TIMED_OUT = "timed_out"
    """An attempt at a step did not finish within its `timeout_s` (retryable)."""
    DEADLINE_EXCEEDED = "deadline_exceeded"
    """The run was still working when its deadline passed; it ends `failed`."""
    CANCELED = "canceled"
    """Someone canceled the run, or the run ended while this step was in flight."""
    MAX_DELIVERIES_EXCEEDED = "max_deliveries_exceeded"
    """JetStream gave up redelivering: the consumer crashed or hung on every delivery."""
    BUSY = "busy"
    """The LLM gateway is saturated; the message says when to try again (retryable)."""
    BUDGET_EXCEEDED = "budget_exceeded"
    """The tenant's LLM budget would be overspent by this call."""
    PROVIDER_FAILED = "provider_failed"
    """Every LLM provider in the agent's fallback chain failed or refused the call."""


class ErrorInfo(BaseModel):
    """A typed error as it travels in messages."""

    model_config = ConfigDict(frozen=True)

    code: ErrorCode
    message: str
    run_id: str | None = None
    step_id: str | None = None
    retryable: bool = False


def invalid_message_info(exc: ValidationError, *, limit: int = 4000) -> ErrorInfo:
    """`invalid_message` naming each failing field and why, never the values it was given.

    pydantic's own text quotes the input, and a message's input can be a prompt or a key;
    this text ends up in replies, dead letters and log lines.
    """
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or '(message)'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    ]
    text = f"{exc.title} is not valid: " + "; ".join(problems)
    return ErrorInfo(code=ErrorCode.INVALID_MESSAGE, message=text[:limit])


class PulseError(Exception):
    """Base of every error Pulse raises on purpose."""

    code: ErrorCode = ErrorCode.INTERNAL
    retryable: bool = False

    def __init__(self, message: str, *, run_id: str | None = None, step_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.run_id = run_id
        self.step_id = step_id

    def to_info(self) -> ErrorInfo:
        return ErrorInfo(
            code=self.code,
            message=self.message,
            run_id=self.run_id,
            step_id=self.step_id,
            retryable=self.retryable,
        )

    def __str__(self) -> str:
        where = ", ".join(
            f"{k}={v}" for k, v in (("run_id", self.run_id), ("step_id", self.step_id)) if v
        )
        return f"{self.code}: {self.message}" + (f" ({where})" if where else "")


class InvalidMessage(PulseError):
    """A message on the bus did not validate against its contract."""

    code = ErrorCode.INVALID_MESSAGE


class PlanningFailed(PulseError):
    """The goal could not be turned into a valid plan; the run ends `rejected`."""

    code = ErrorCode.PLANNING_FAILED


class ToolNotFound(PulseError):
    code = ErrorCode.TOOL_NOT_FOUND


class ToolFailed(PulseError):
    """A tool rejected its input or failed while running."""

    code = ErrorCode.TOOL_FAILED


class UnresolvedReference(PulseError):
    """A step input refers to a step output that does not exist."""

    code = ErrorCode.UNRESOLVED_REFERENCE


class StepFailed(PulseError):
    code = ErrorCode.STEP_FAILED


class StepTimedOut(PulseError):
    """An attempt did not finish in time; the next attempt may (so it is retryable)."""

    code = ErrorCode.TIMED_OUT
    retryable = True


class DeadlineExceeded(PulseError):
    """The run's deadline passed before it finished."""

    code = ErrorCode.DEADLINE_EXCEEDED


class Canceled(PulseError):
    """The run was canceled, or a step stopped because its run ended."""

    code = ErrorCode.CANCELED
