"""Modes, the circuit breaker and the fallback to rules, and the plan cache in the pipeline."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from prometheus_client import CollectorRegistry

from pulse_contracts import LlmRequested, LlmResponded, PlanningFailed, RunRequested
from pulse_planner.adapters import MemoryPlanCacheStore, StaticCatalogue
from pulse_planner.domain import LlmUnavailable, RuleBasedPlanner, builtin_catalogue
from pulse_planner.llm_planner import LlmPlanner, LlmPlannerConfig
from pulse_planner.metrics import PlannerMetrics
from pulse_planner.pipeline import (
    Goal,
    PlanningPipeline,
    RulePlanning,
    answer_request,
    as_goal_planner,
)
from pulse_planner.plan_cache import PlanCache
from pulse_resilience import BreakerState, CircuitBreaker

LLM_PLAN = json.dumps(
    {"steps": [{"id": "only", "tool": "todo.list", "input": {}, "description": "from the llm"}]}
)
RULE_GOAL = "list all todos"
ODD_GOAL = "please sort out my week"


@dataclass
class Llm:
    """Answers with `answer`; `fail` makes it unavailable; `hang` never answers."""

    answer: str = LLM_PLAN
    fail: bool = False
    hang: bool = False
    requests: list[LlmRequested] = field(default_factory=list)

    async def complete(self, request: LlmRequested, *, timeout_s: float) -> LlmResponded:
        self.requests.append(request)
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail:
            raise LlmUnavailable("no agent-adapter answers")
        return LlmResponded(message_id="r", request_id=request.message_id, text=self.answer)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    llm: Llm
    pipeline: PlanningPipeline
    breaker: CircuitBreaker
    clock: Clock
    registry: CollectorRegistry
    store: MemoryPlanCacheStore

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


def rig(
    llm: Llm | None = None,
    *,
    fallback: bool = True,
    cache: bool = True,
    budget_s: float = 5.0,
) -> Rig:
    llm = llm or Llm()
    clock = Clock()
    registry = CollectorRegistry()
    metrics = PlannerMetrics(registry)
    breaker = CircuitBreaker("planner-llm", failure_threshold=2, cool_down_s=30, clock=clock)
    metrics.watch(breaker)
    store = MemoryPlanCacheStore()
    pipeline = PlanningPipeline(
        llm=LlmPlanner(llm, LlmPlannerConfig(request_timeout_s=5)),
        catalogue=StaticCatalogue(builtin_catalogue()),
        fallback=RuleBasedPlanner() if fallback else None,
        breaker=breaker,
        cache=PlanCache(
            store, ttl_s=60, on_lookup=lambda layer: metrics.plan_cache_lookup(layer is not None)
        )
        if cache
        else None,
        budget_s=budget_s,
        metrics=metrics,
    )
    return Rig(llm, pipeline, breaker, clock, registry, store)


async def test_a_valid_llm_plan_is_made_by_the_llm() -> None:
    r = rig()
    planned = await r.pipeline.plan_goal(Goal(ODD_GOAL, tenant="acme", run_id="r1"))
    assert planned.planner == "llm"
    assert [s.id for s in planned.plan.steps] == ["only"]
    assert planned.details["agent"] == "default"
    assert planned.details["llm_calls"] == 1
    assert r.metric("pulse_planner_llm_plans_total", outcome="valid") == 1
    assert r.pipeline.name == "auto"


async def test_an_unavailable_llm_falls_back_to_the_rules() -> None:
    r = rig(Llm(fail=True))
    planned = await r.pipeline.plan_goal(Goal(RULE_GOAL))
    assert planned.planner == "rule-based"
    assert planned.details["fallback"] == "llm_unavailable"
    assert [s.tool for s in planned.plan.steps] == ["todo.list"]
    assert r.metric("pulse_planner_fallbacks_total", reason="llm_unavailable") == 1


async def test_an_invalid_plan_after_its_repair_falls_back() -> None:
    r = rig(Llm(answer='{"steps": [{"id": "s1", "tool": "rm.rf", "input": {}}]}'))
    planned = await r.pipeline.plan_goal(Goal(RULE_GOAL))
    assert planned.planner == "rule-based"
    assert planned.details["fallback"] == "invalid_plan"
    assert len(r.llm.requests) == 2  # the plan and its one repair


async def test_an_llm_that_hangs_is_cut_off_by_the_budget() -> None:
    r = rig(Llm(hang=True), budget_s=0.2)
    planned = await r.pipeline.plan_goal(Goal(RULE_GOAL))
    assert planned.planner == "rule-based"
    assert "budget" in str(planned.details["llm_error"])


async def test_a_goal_neither_planner_understands_is_rejected_with_both_reasons() -> None:
    r = rig(Llm(fail=True))
    with pytest.raises(PlanningFailed) as caught:
        await r.pipeline.plan_goal(Goal(ODD_GOAL, run_id="r9"))
    assert "I do not understand" in caught.value.message
    assert "the LLM planner could not plan it either: no agent-adapter" in caught.value.message
    assert caught.value.run_id == "r9"


async def test_llm_mode_rejects_instead_of_falling_back() -> None:
    r = rig(Llm(fail=True), fallback=False)
    assert r.pipeline.name == "llm"
    with pytest.raises(LlmUnavailable):
        await r.pipeline.plan_goal(Goal(RULE_GOAL))


async def test_the_breaker_opens_skips_the_llm_then_probes_and_closes() -> None:
    llm = Llm(fail=True)
    r = rig(llm)
    for _ in range(2):
        assert (await r.pipeline.plan_goal(Goal(RULE_GOAL))).planner == "rule-based"
    assert r.breaker.state is BreakerState.OPEN
    assert r.metric("pulse_circuit_breaker_state", breaker="planner-llm") == 2
    asked = len(llm.requests)

    # Open: the LLM is not even asked; rules answer at once.
    planned = await r.pipeline.plan_goal(Goal(RULE_GOAL))
    assert planned.details["fallback"] == "breaker_open"
    assert len(llm.requests) == asked
    assert r.metric("pulse_planner_llm_plans_total", outcome="breaker_open") == 1

    # After the cool-down one probe goes through; it fails, so the breaker opens again.
    r.clock.now += 30
    assert (await r.pipeline.plan_goal(Goal(RULE_GOAL))).details["fallback"] == "llm_unavailable"
    assert len(llm.requests) == asked + 1
    assert r.breaker.state is BreakerState.OPEN

    # The LLM recovers: the next probe succeeds and closes the breaker.
    llm.fail = False
    r.clock.now += 30
    assert (await r.pipeline.plan_goal(Goal(ODD_GOAL))).planner == "llm"
    assert r.breaker.state is BreakerState.CLOSED
    assert r.metric("pulse_circuit_breaker_state", breaker="planner-llm") == 0


async def test_an_unexpected_error_propagates_without_tripping_the_breaker() -> None:
    class Broken(Llm):
        async def complete(self, request: LlmRequested, *, timeout_s: float) -> LlmResponded:
            raise RuntimeError("bug")

    r = rig(Broken())
    for _ in range(3):
        with pytest.raises(RuntimeError, match="bug"):
            await r.pipeline.plan_goal(Goal(RULE_GOAL))
    assert r.breaker.state is BreakerState.CLOSED


async def test_a_cached_plan_is_served_without_asking_the_llm() -> None:
    r = rig()
    first = await r.pipeline.plan_goal(Goal(ODD_GOAL, tenant="acme"))
    again = await r.pipeline.plan_goal(Goal("  Please sort out my WEEK. ", tenant="acme"))
    assert len(r.llm.requests) == 1
    assert again.plan == first.plan
    assert (again.planner, again.details["cache"]) == ("llm", "exact")
    assert r.metric("pulse_cache_requests_total", layer="plan", result="hit") == 1
    assert r.metric("pulse_cache_requests_total", layer="plan", result="miss") == 1
    # Another tenant never sees it.
    await r.pipeline.plan_goal(Goal(ODD_GOAL, tenant="globex"))
    assert len(r.llm.requests) == 2


async def test_fallback_plans_are_not_cached() -> None:
    r = rig(Llm(fail=True))
    await r.pipeline.plan_goal(Goal(RULE_GOAL))
    assert r.store.entries == {}


async def test_without_a_cache_every_goal_asks_the_llm() -> None:
    r = rig(cache=False)
    await r.pipeline.plan_goal(Goal(ODD_GOAL))
    await r.pipeline.plan_goal(Goal(ODD_GOAL))
    assert len(r.llm.requests) == 2


async def test_answer_request_turns_the_outcome_into_messages() -> None:
    request = RunRequested(message_id="m", run_id="run-7", tenant="acme", prompt=ODD_GOAL)
    created, details = await answer_request(rig().pipeline, request, trace_id="t" * 32)
    assert created.message_id == "run:run-7:plan"
    assert getattr(created, "planner", None) == "llm"
    assert details["llm_calls"] == 1
    rejected, details = await answer_request(rig(Llm(fail=True)).pipeline, request, trace_id=None)
    assert rejected.message_id == "run:run-7:plan"
    assert getattr(rejected, "error").run_id == "run-7"  # noqa: B009
    assert details == {}


async def test_the_rule_planner_as_a_goal_planner() -> None:
    planner = as_goal_planner(RuleBasedPlanner())
    assert isinstance(planner, RulePlanning)
    assert as_goal_planner(planner) is planner
    planned = await planner.plan_goal(Goal(RULE_GOAL))
    assert (planned.planner, planner.name) == ("rule-based", "rule-based")
