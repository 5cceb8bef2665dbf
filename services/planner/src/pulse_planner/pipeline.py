"""Which planner plans a goal: rules, the LLM, or the LLM with the rules as a safety net.

Modes (`PULSE_PLANNER_MODE`):

- `rule` (default) — the rule-based grammar only: deterministic, offline, no LLM call.
- `auto` — plan cache, then the LLM planner behind a circuit breaker; when the LLM path
  fails (no answer, a provider error, a plan still invalid after its repair, the budget
  spent) or the breaker is open, the rule-based planner takes over. A goal neither can
  plan is rejected with both reasons.
- `llm` — the same LLM path without the fallback: its failures are rejections.

`PlanCreated.planner` says who made the plan: `llm` (also when served from the plan cache)
or `rule-based`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pulse_contracts import Plan, PlanCreated, PlanningFailed, PlanRejected, RunRequested
from pulse_planner.adapters.ports import CatalogueSource
from pulse_planner.domain import Planner, PlanOutcome, plan_message_id
from pulse_planner.domain.errors import InvalidPlan, LlmPaused, LlmUnavailable
from pulse_planner.llm_planner import LlmPlanner
from pulse_planner.metrics import PlannerMetrics
from pulse_planner.plan_cache import PlanCache
from pulse_resilience import CircuitBreaker, CircuitOpen

__all__ = [
    "Details",
    "Goal",
    "GoalPlanner",
    "PlannedGoal",
    "PlannerMode",
    "PlanningPipeline",
    "RulePlanning",
    "answer_request",
    "as_goal_planner",
]

log = logging.getLogger(__name__)

Details = dict[str, str | int | float | bool]


class PlannerMode(StrEnum):
    RULE = "rule"
    AUTO = "auto"
    LLM = "llm"


@dataclass(frozen=True)
class Goal:
    prompt: str
    tenant: str = "default"
    run_id: str | None = None


@dataclass(frozen=True)
class PlannedGoal:
    plan: Plan
    planner: str
    details: Details = field(default_factory=dict)
    """For the outcome's log line: cache layer, agent, complexity, fallback reason…"""


@runtime_checkable
class GoalPlanner(Protocol):
    @property
    def name(self) -> str: ...

    async def plan_goal(self, goal: Goal) -> PlannedGoal:
        """The goal's plan and who made it; `PlanningFailed` when it cannot be planned."""
        ...


class RulePlanning:
    """A synchronous `Planner` (the rule-based one) as a goal planner."""

    def __init__(self, planner: Planner) -> None:
        self._planner = planner

    @property
    def name(self) -> str:
        return self._planner.name

    async def plan_goal(self, goal: Goal) -> PlannedGoal:
        return PlannedGoal(self._planner.plan(goal.prompt), self._planner.name)


def as_goal_planner(planner: Planner | GoalPlanner) -> GoalPlanner:
    return planner if isinstance(planner, GoalPlanner) else RulePlanning(planner)


class PlanningPipeline:
    """The `auto` and `llm` modes (see the module docstring)."""

    def __init__(
        self,
        *,
        llm: LlmPlanner,
        catalogue: CatalogueSource,
        fallback: Planner | None,
        breaker: CircuitBreaker,
        cache: PlanCache | None = None,
        budget_s: float = 25.0,
        metrics: PlannerMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._llm = llm
        self._catalogue = catalogue
        self._fallback = fallback
        self._breaker = breaker
        self._cache = cache
        self._budget_s = budget_s
        self._metrics = metrics
        self._clock = clock

    @property
    def name(self) -> str:
        return "auto" if self._fallback is not None else self._llm.name

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def warm(self) -> None:
        """Prepare what the first goal would otherwise wait for (the embedding model)."""
        if self._cache is not None:
            await self._cache.warm()

    async def plan_goal(self, goal: Goal) -> PlannedGoal:
        try:
            return await self._llm_path(goal)
        except (LlmUnavailable, InvalidPlan) as failure:
            if self._fallback is None:
                raise
            reason = _reason(failure)
            if self._metrics is not None:
                self._metrics.fallbacks.labels(reason).inc()
            log.info("falling back to the %s planner: %s", self._fallback.name, failure.message)
            try:
                plan = self._fallback.plan(goal.prompt)
            except PlanningFailed as rules:
                raise PlanningFailed(
                    f"{rules.message} (the LLM planner could not plan it either: "
                    f"{failure.message})",
                    run_id=goal.run_id,
                ) from None
            return PlannedGoal(
                plan, self._fallback.name, {"fallback": reason, "llm_error": failure.message}
            )

    async def _llm_path(self, goal: Goal) -> PlannedGoal:
        catalogue = await self._catalogue.catalogue()
        if self._cache is not None:
            hit = await self._cache.lookup(goal.tenant, catalogue.version, goal.prompt)
            if hit is not None:
                return PlannedGoal(
                    hit.plan,
                    hit.planner,
                    {"cache": hit.layer.value, "similarity": hit.similarity},
                )
        assessment, agent = self._llm.route(goal.prompt)
        deadline = self._clock() + self._budget_s

        async def ask() -> PlannedGoal:
            try:
                async with asyncio.timeout(self._budget_s):
                    result = await self._llm.plan(
                        goal.prompt,
                        catalogue,
                        tenant=goal.tenant,
                        run_id=goal.run_id,
                        deadline=deadline,
                    )
            except TimeoutError:
                raise LlmUnavailable(
                    f"no plan within the planning budget of {self._budget_s:g}s",
                    run_id=goal.run_id,
                ) from None
            return PlannedGoal(
                result.plan,
                self._llm.name,
                {
                    "agent": result.agent,
                    "complexity": result.complexity.level.value,
                    "llm_calls": result.calls,
                    "repaired": result.repaired,
                    "review": result.review,
                    "prompt_tokens": result.usage.prompt_tokens,
                    "completion_tokens": result.usage.completion_tokens,
                },
            )

        if self._metrics is not None:
            self._metrics.routed.labels(assessment.level.value, agent).inc()
        try:
            planned = await self._breaker.call(
                ask, is_failure=lambda exc: isinstance(exc, LlmUnavailable | InvalidPlan)
            )
        except CircuitOpen as exc:
            self._count("breaker_open")
            raise LlmPaused(
                f"the LLM planner is paused after repeated failures (circuit open, next "
                f"try in {exc.retry_after_s:.0f}s)",
                run_id=goal.run_id,
            ) from None
        except LlmUnavailable:
            self._count("unavailable")
            raise
        except InvalidPlan:
            self._count("invalid")
            raise
        self._count("repaired" if planned.details.get("repaired") else "valid")
        if self._cache is not None:
            await self._cache.store(
                goal.tenant, catalogue.version, goal.prompt, planned.plan, planned.planner
            )
        return planned

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.llm_plans.labels(outcome).inc()


def _reason(failure: PlanningFailed) -> str:
    if isinstance(failure, InvalidPlan):
        return "invalid_plan"
    if isinstance(failure, LlmPaused):
        return "breaker_open"
    return "llm_unavailable"


async def answer_request(
    planner: GoalPlanner, request: RunRequested, *, trace_id: str | None
) -> tuple[PlanOutcome, Details]:
    """Plan the request's goal. Only `PlanningFailed` becomes a rejection; any other error
    propagates, so the message is redelivered and, if it keeps failing, dead-lettered."""
    common = {
        "message_id": plan_message_id(request.run_id),
        "run_id": request.run_id,
        "tenant": request.tenant,
        "trace_id": trace_id,
        "prompt": request.prompt,
    }
    goal = Goal(request.prompt, tenant=request.tenant, run_id=request.run_id)
    try:
        planned = await planner.plan_goal(goal)
    except PlanningFailed as exc:
        error = exc.to_info().model_copy(update={"run_id": request.run_id})
        return PlanRejected(**common, error=error), {}
    created = PlanCreated(
        **common, plan=planned.plan, planner=planned.planner, deadline_s=request.deadline_s
    )
    return created, planned.details
