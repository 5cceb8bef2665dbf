"""How a provider call failed, as the transport and providers report it to the gateway."""

from __future__ import annotations

__all__ = ["ProviderError", "Saturated"]


class ProviderError(Exception):
    """A provider did not answer usefully.

    `retryable`: the same request may succeed later (429, 5xx, a timeout, a dropped
    connection, a stream cut off); `retry_after_s`: the provider's own hint, if any;
    `status`: the HTTP status, None when there was no response.
    """

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s

    @property
    def reason(self) -> str:
        """A short label for metrics: the status, or the kind of failure."""
        if self.status is not None:
            return str(self.status)
        return "timeout" if "timed out" in self.message else "connection"


class Saturated(Exception):
    """No capacity for this call within its deadline: the concurrency limit is reached
    and the wait queue full or too slow, or the provider asked us to pause."""

    def __init__(self, provider: str, message: str, *, retry_after_s: float) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.retry_after_s = max(0.0, retry_after_s)
