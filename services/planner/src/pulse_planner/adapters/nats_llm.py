"""LLM calls as NATS requests to the agent-adapter (`LlmRequested` -> `LlmResponded`)."""

from __future__ import annotations

from faststream.nats import NatsBroker
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from pydantic import ValidationError

from pulse_contracts import LlmRequested, LlmResponded, subjects
from pulse_planner.domain.errors import LlmUnavailable

__all__ = ["NatsLlmClient"]


class NatsLlmClient:
    """Core NATS request/reply on `LLM_REQUESTS`; the adapters answer as a queue group, so
    each request is answered once. The broker's middlewares add `traceparent`, so the LLM
    call joins the run's trace."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def complete(self, request: LlmRequested, *, timeout_s: float) -> LlmResponded:
        try:
            reply = await self._broker.request(request, subjects.LLM_REQUESTS, timeout=timeout_s)
        except NoRespondersError:
            raise LlmUnavailable(
                f"no agent-adapter answers on {subjects.LLM_REQUESTS}", run_id=request.run_id
            ) from None
        except TimeoutError:
            raise LlmUnavailable(
                f"the LLM did not answer within {timeout_s:.1f}s", run_id=request.run_id
            ) from None
        except (NatsError, OSError) as exc:
            raise LlmUnavailable(f"LLM request failed: {exc}", run_id=request.run_id) from None
        try:
            return LlmResponded.model_validate_json(reply.body)
        except ValidationError as exc:
            raise LlmUnavailable(
                f"the reply on {subjects.LLM_REQUESTS} is not an LlmResponded: "
                f"{exc.error_count()} errors",
                run_id=request.run_id,
            ) from None
