"""The typed errors of an LLM call, as callers see them (codes from the contracts taxonomy)."""

from __future__ import annotations

from pulse_contracts import ErrorCode, PulseError

__all__ = ["BudgetExceeded", "LlmBusy", "ProviderFailed", "UnknownAgent"]


class LlmBusy(PulseError):
    """Every provider of the agent's chain is saturated (or its breaker open) and no slot
    frees up within the caller's deadline. Retryable after `retry_after_s`."""

    code = ErrorCode.BUSY
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float,
        run_id: str | None = None,
        step_id: str | None = None,
    ) -> None:
        retry_after_s = max(0.0, retry_after_s)
        super().__init__(
            f"{message}; retry after {retry_after_s:.1f}s", run_id=run_id, step_id=step_id
        )
        self.retry_after_s = retry_after_s


class BudgetExceeded(PulseError):
    """The call could cost more than the tenant's budget has left."""

    code = ErrorCode.BUDGET_EXCEEDED


class ProviderFailed(PulseError):
    """No provider of the chain produced an answer (each one's reason is in the message)."""

    code = ErrorCode.PROVIDER_FAILED

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        run_id: str | None = None,
        step_id: str | None = None,
    ) -> None:
        super().__init__(message, run_id=run_id, step_id=step_id)
        self.retryable = retryable


class UnknownAgent(PulseError):
    """The call names an agent profile nobody configured."""

    code = ErrorCode.INVALID_MESSAGE
