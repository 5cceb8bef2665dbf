"""Per-tenant budgets, enforced under concurrency by reserving before a call and settling
after it.

Before a call, the most it can cost (its counted prompt plus `max_tokens` of completion,
at the model's price; plus a margin when tokens are only estimated) is reserved against
the tenant's account for the current period. A reservation that would take spent plus
reserved past the limit is refused (`BudgetExceeded`), so calls in flight together can
never add up to more than the budget. After the call the reservation is replaced by what
the call really cost. A reservation never settled (the process died mid-call) lapses after
`reservation_ttl_s`.

The account is one document per tenant and period, updated with compare-and-set by
whichever store holds it (`BudgetLedger`); this module is the arithmetic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pulse_agent_adapter.domain.llm_errors import BudgetExceeded
from pulse_contracts import Usage

__all__ = [
    "BudgetAccount",
    "BudgetLedger",
    "BudgetPeriod",
    "BudgetPolicy",
    "Reservation",
    "period_key",
]

BudgetPeriod = Literal["day", "month", "total"]


class BudgetPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit_usd: float = Field(ge=0)
    period: BudgetPeriod = "month"


def period_key(period: BudgetPeriod, now: datetime) -> str:
    match period:
        case "day":
            return now.strftime("%Y-%m-%d")
        case "month":
            return now.strftime("%Y-%m")
        case "total":
            return "total"


class Reservation(BaseModel):
    usd: float = Field(ge=0)
    at: float
    """Unix time the reservation was made."""


class BudgetAccount(BaseModel):
    tenant: str
    period: str
    limit_usd: float = Field(ge=0)
    spent_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    reservations: dict[str, Reservation] = Field(default_factory=dict)

    @property
    def reserved_usd(self) -> float:
        return round(sum(r.usd for r in self.reservations.values()), 10)

    @property
    def available_usd(self) -> float:
        return round(self.limit_usd - self.spent_usd - self.reserved_usd, 10)

    @property
    def remaining_ratio(self) -> float:
        """The share of the limit not yet spent, 0..1. Reservations are left out: they
        come and go with every call, and the alert on it is about money really spent."""
        if self.limit_usd <= 0:
            return 0.0
        return min(1.0, max(0.0, (self.limit_usd - self.spent_usd) / self.limit_usd))

    def expiring(self, now: float, ttl_s: float) -> BudgetAccount:
        live = {k: r for k, r in self.reservations.items() if now - r.at < ttl_s}
        if len(live) == len(self.reservations):
            return self
        return self.model_copy(update={"reservations": live})

    def reserving(self, reservation_id: str, usd: float, now: float) -> BudgetAccount:
        """The account with `usd` reserved; raises `BudgetExceeded` if it does not fit.

        The limit may have changed since the account was opened: the current one wins.
        """
        if reservation_id in self.reservations:
            return self
        if usd > self.available_usd:
            raise BudgetExceeded(
                f"tenant {self.tenant!r} has {max(0.0, self.available_usd):.6f} USD of its "
                f"{self.limit_usd:g} USD budget ({self.period}) left; this call may cost "
                f"{usd:.6f} USD"
            )
        reservations = {**self.reservations, reservation_id: Reservation(usd=usd, at=now)}
        return self.model_copy(update={"reservations": reservations})

    def settling(self, reservation_id: str, usage: Usage) -> BudgetAccount:
        """The account with the reservation replaced by what the call cost (0 if it failed)."""
        reservations = {k: r for k, r in self.reservations.items() if k != reservation_id}
        called = usage.prompt_tokens > 0 or usage.completion_tokens > 0 or usage.cost_usd > 0
        return self.model_copy(
            update={
                "reservations": reservations,
                "spent_usd": round(self.spent_usd + usage.cost_usd, 10),
                "prompt_tokens": self.prompt_tokens + usage.prompt_tokens,
                "completion_tokens": self.completion_tokens + usage.completion_tokens,
                "calls": self.calls + (1 if called else 0),
            }
        )


class BudgetLedger(Protocol):
    """Where accounts live; every change is atomic with respect to other replicas.
    `reserve` and `settle` return the account as they left it."""

    async def reserve(
        self, tenant: str, policy: BudgetPolicy, reservation_id: str, usd: float
    ) -> BudgetAccount: ...

    async def settle(
        self, tenant: str, policy: BudgetPolicy, reservation_id: str, usage: Usage
    ) -> BudgetAccount: ...

    async def account(self, tenant: str, policy: BudgetPolicy) -> BudgetAccount | None: ...
