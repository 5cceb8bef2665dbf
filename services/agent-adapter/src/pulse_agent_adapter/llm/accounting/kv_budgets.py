"""Budget accounts in the JetStream KV bucket `pulse_llm_budgets`, one document per tenant
and period under `<tenant>.<period>`, changed only with compare-and-set.

Every reserve and settle reads the account, computes the new one and writes it only if no
other replica wrote in between; otherwise it reads again. So reservations from any number
of concurrent calls on any number of replicas are checked against one consistent balance.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from nats.js.kv import KeyValue

from pulse_agent_adapter.llm.accounting.budgets import BudgetAccount, BudgetPolicy, period_key
from pulse_agent_adapter.llm.kv_keys import kv_token
from pulse_broker import KvConflict, TypedKv
from pulse_contracts import Usage

__all__ = ["BudgetContendedError", "InMemoryBudgetLedger", "NatsKvBudgetLedger"]

_BACKOFF_BASE_S: Final = 0.002
_BACKOFF_CAP_S: Final = 0.1


class BudgetContendedError(Exception):
    """The account kept changing under us; the call fails rather than risk overspending."""


def _now() -> datetime:
    return datetime.now(UTC)


class NatsKvBudgetLedger:
    def __init__(
        self,
        kv: KeyValue | None = None,
        *,
        reservation_ttl_s: float = 600.0,
        max_attempts: int = 500,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._docs: TypedKv[BudgetAccount] | None = None
        self._ttl_s = reservation_ttl_s
        self._max_attempts = max_attempts
        self._clock = clock
        if kv is not None:
            self.bind(kv)

    def bind(self, kv: KeyValue) -> None:
        self._docs = TypedKv(kv, BudgetAccount)

    @property
    def docs(self) -> TypedKv[BudgetAccount]:
        if self._docs is None:
            raise RuntimeError("the budget ledger is not bound to its KV bucket yet")
        return self._docs

    def _key(self, tenant: str, policy: BudgetPolicy) -> tuple[str, str]:
        period = period_key(policy.period, self._clock())
        return f"{kv_token(tenant)}.{period}", period

    async def _change(
        self,
        tenant: str,
        policy: BudgetPolicy,
        change: Callable[[BudgetAccount], BudgetAccount],
    ) -> BudgetAccount:
        key, period = self._key(tenant, policy)
        for attempt in range(self._max_attempts):
            current = await self.docs.get(key)
            base = (
                current.value.model_copy(update={"limit_usd": policy.limit_usd})
                if current is not None
                else BudgetAccount(tenant=tenant, period=period, limit_usd=policy.limit_usd)
            )
            after = change(base.expiring(time.time(), self._ttl_s))
            try:
                if current is None:
                    await self.docs.create(key, after)
                else:
                    await self.docs.update(key, after, current.revision)
                return after
            except KvConflict:
                # Full jitter: replicas that collided must not collide again in lockstep.
                cap = min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2 ** min(attempt, 10))
                await asyncio.sleep(random.uniform(0, cap))
        raise BudgetContendedError(f"budget of tenant {tenant!r} stayed contended")

    async def reserve(
        self, tenant: str, policy: BudgetPolicy, reservation_id: str, usd: float
    ) -> BudgetAccount:
        now = time.time()
        return await self._change(tenant, policy, lambda a: a.reserving(reservation_id, usd, now))

    async def settle(
        self, tenant: str, policy: BudgetPolicy, reservation_id: str, usage: Usage
    ) -> BudgetAccount:
        return await self._change(tenant, policy, lambda a: a.settling(reservation_id, usage))

    async def account(self, tenant: str, policy: BudgetPolicy) -> BudgetAccount | None:
        key, _ = self._key(tenant, policy)
        current = await self.docs.get(key)
        return current.value if current is not None else None


class InMemoryBudgetLedger:
    """One process's accounts in a dict: unit tests and single-process experiments."""

    def __init__(self, *, clock: Callable[[], datetime] = _now) -> None:
        self._accounts: dict[str, BudgetAccount] = {}
        self._clock = clock

    def _get(self, tenant: str, policy: BudgetPolicy) -> tuple[str, BudgetAccount]:
        period = period_key(policy.period, self._clock())
        key = f"{tenant}.{period}"
        account = self._accounts.get(key) or BudgetAccount(
            tenant=tenant, period=period, limit_usd=policy.limit_usd
        )
        return key, account.model_copy(update={"limit_usd": policy.limit_usd})

    async def reserve(
        self, tenant: str, policy: BudgetPolicy, reservation_id: str, usd: float
    ) -> BudgetAccount:
        key, account = self._get(tenant, policy)
        self._accounts[key] = account.reserving(reservation_id, usd, time.time())
        return self._accounts[key]

    async def settle(
        self, tenant: str, policy: BudgetPolicy, reservation_id: str, usage: Usage
    ) -> BudgetAccount:
        key, account = self._get(tenant, policy)
        self._accounts[key] = account.settling(reservation_id, usage)
        return self._accounts[key]

    async def account(self, tenant: str, policy: BudgetPolicy) -> BudgetAccount | None:
        period = period_key(policy.period, self._clock())
        return self._accounts.get(f"{tenant}.{period}")
