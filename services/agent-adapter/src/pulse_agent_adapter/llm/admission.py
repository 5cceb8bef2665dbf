"""Letting one provider call go ahead: circuit breaker, budget reservation, concurrency slot
— and settling all three once the call is over, however it ended.

Order matters: an open breaker refuses before anything is reserved; the budget is reserved
before waiting for a slot (so a tenant out of money never queues); the breaker's probe
slot is taken only with a concurrency slot in hand. When the body ends, the breaker learns
whether the provider was reachable (any answer, even a 4xx, is a success: the breaker
tracks availability), and the reservation is replaced by what the call really cost.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from pulse_agent_adapter.domain.llm import ChatRequest, Deadline
from pulse_agent_adapter.domain.llm_errors import LlmBusy
from pulse_agent_adapter.llm.accounting.budgets import BudgetLedger, BudgetPolicy
from pulse_agent_adapter.llm.accounting.kv_budgets import BudgetContendedError
from pulse_agent_adapter.llm.accounting.prices import ModelPrice
from pulse_agent_adapter.llm.metrics import LlmMetrics
from pulse_agent_adapter.llm.transport import ProviderError, ProviderLane, Saturated
from pulse_contracts import Usage
from pulse_resilience import BreakerState

__all__ = ["Admission", "Gatekeeper", "Unavailable"]

log = logging.getLogger("pulse.agent_adapter")


class Unavailable(Exception):
    """This provider cannot answer now; the chain may try the next agent."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        busy: bool = False,
        retryable: bool = True,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.busy = busy
        self.retryable = retryable
        self.retry_after_s = retry_after_s


@dataclass
class Admission:
    """A call that may go ahead; the body records what it cost in `usage`."""

    provider: str
    model: str
    usage: Usage = field(default_factory=Usage)


class Gatekeeper:
    def __init__(
        self,
        *,
        lanes: Mapping[str, ProviderLane],
        ledger: BudgetLedger | None,
        budgets: Mapping[str, BudgetPolicy],
        metrics: LlmMetrics,
        estimate_margin: float = 1.25,
    ) -> None:
        self._lanes = lanes
        self._ledger = ledger
        self._budgets = budgets
        self._metrics = metrics
        self._margin = estimate_margin

    def lane(self, provider: str) -> ProviderLane:
        return self._lanes[provider]

    async def _reserve(
        self, tenant: str, worst_case_usd: float, exact: bool
    ) -> tuple[str, BudgetPolicy] | None:
        policy = self._budgets.get(tenant)
        if policy is None or self._ledger is None:
            return None
        reservation = uuid.uuid4().hex
        usd = worst_case_usd if exact else worst_case_usd * self._margin
        try:
            account = await self._ledger.reserve(tenant, policy, reservation, usd)
        except BudgetContendedError as exc:
            raise LlmBusy(str(exc), retry_after_s=1.0) from None
        except Exception:
            self._metrics.budget_refusals.labels(tenant).inc()
            raise
        self._metrics.budget_remaining.labels(tenant).set(account.remaining_ratio)
        return reservation, policy

    async def _settle(self, tenant: str, reserved: tuple[str, BudgetPolicy], usage: Usage) -> None:
        if self._ledger is None:
            return
        try:
            account = await self._ledger.settle(tenant, reserved[1], reserved[0], usage)
        except Exception:  # the reservation lapses on its own; the call's answer stands
            log.exception("could not settle the budget reservation of tenant %s", tenant)
            return
        self._metrics.budget_remaining.labels(tenant).set(account.remaining_ratio)

    @contextlib.asynccontextmanager
    async def admit(
        self,
        *,
        tenant: str,
        provider: str,
        request: ChatRequest,
        price: ModelPrice,
        prompt_tokens: int,
        exact_tokens: bool,
        deadline: Deadline,
    ) -> AsyncIterator[Admission]:
        lane = self._lanes[provider]
        breaker = lane.breaker(request.model)
        if breaker.state is BreakerState.OPEN:
            raise Unavailable(
                "breaker_open",
                f"circuit {provider}/{request.model} is open",
                busy=True,
                retry_after_s=breaker.retry_after_s(),
            )
        worst_case = price.cost(prompt_tokens, request.max_tokens)
        reserved = await self._reserve(tenant, worst_case, exact_tokens)
        admission = Admission(provider, request.model)
        try:
            try:
                async with lane.slot(deadline):
                    if not breaker.allow():
                        raise Unavailable(
                            "breaker_open",
                            f"circuit {provider}/{request.model} is half-open, probe in flight",
                            busy=True,
                            retry_after_s=max(1.0, breaker.retry_after_s()),
                        )
                    in_flight = self._metrics.in_flight.labels(provider)
                    in_flight.inc()
                    try:
                        yield admission
                    except ProviderError as exc:
                        (breaker.record_failure if exc.retryable else breaker.record_success)()
                        raise Unavailable(
                            exc.reason,
                            str(exc),
                            retryable=exc.retryable,
                            retry_after_s=exc.retry_after_s,
                        ) from exc
                    except GeneratorExit:  # the stream's reader stopped early: not a failure
                        breaker.record_success()
                        raise
                    except BaseException:
                        breaker.record_failure()  # cancelled mid-call (too slow), or a bug
                        raise
                    else:
                        breaker.record_success()
                    finally:
                        in_flight.dec()
            except Saturated as exc:
                self._metrics.busy.labels(provider).inc()
                raise Unavailable(
                    "busy", str(exc), busy=True, retry_after_s=exc.retry_after_s
                ) from exc
        finally:
            if reserved is not None:
                await self._settle(tenant, reserved, admission.usage)
