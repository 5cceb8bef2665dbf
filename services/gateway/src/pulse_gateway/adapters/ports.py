"""What the gateway needs from the outside world: a run-state store and a way to publish."""

from __future__ import annotations

from typing import Protocol

from pulse_contracts import CancelRun, ErrorCode, PulseError, RestartRun, RunRequested, RunState

__all__ = ["BusUnavailableError", "RunControlPublisher", "RunRequestPublisher", "RunStore"]


class BusUnavailableError(PulseError):
    """NATS (or its JetStream) cannot be reached right now; the client should retry."""

    code = ErrorCode.INTERNAL
    retryable = True


class RunStore(Protocol):
    """Live run state keyed by run id (the `pulse_run_state` KV bucket in production).

    Every method raises `BusUnavailableError` when the store cannot be reached.
    """

    async def create(self, state: RunState) -> bool:
        """Store a new run; False (and nothing written) if its id is already taken."""
        ...

    async def get(self, run_id: str) -> RunState | None: ...

    async def reachable(self) -> bool: ...


class RunRequestPublisher(Protocol):
    """Hands `RunRequested` to the planner (JetStream in production)."""

    async def publish(self, message: RunRequested) -> None:
        """Publish with the current trace context and baggage in the headers.

        A resend of the same `message_id` must not be delivered twice. Raises
        `BusUnavailableError` when the message could not be handed over.
        """
        ...


class RunControlPublisher(Protocol):
    """Hands `CancelRun` / `RestartRun` to the executor (JetStream in production)."""

    async def publish(self, message: CancelRun | RestartRun) -> None:
        """Publish on the command's subject; a resend of the same `message_id` is dropped.

        Raises `BusUnavailableError` when the message could not be handed over.
        """
        ...
