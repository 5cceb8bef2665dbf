"""The planner's Prometheus metrics beyond the published outcomes."""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge

from pulse_resilience import BreakerState

__all__ = ["PlannerMetrics"]

_BREAKER_VALUE: Final = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class PlannerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.cache_lookups = Counter(
            "pulse_planner_plan_cache_lookups",
            "Plan cache lookups by layer (exact, semantic) and result (hit, miss).",
            ["layer", "result"],
            registry=registry,
        )
        self.llm_plans = Counter(
            "pulse_planner_llm_plans",
            "Goals sent down the LLM path, by outcome: valid, repaired, invalid, unavailable, "
            "breaker_open.",
            ["outcome"],
            registry=registry,
        )
        self.routed = Counter(
            "pulse_planner_llm_routed",
            "Goals routed to a planning agent, by complexity and agent.",
            ["complexity", "agent"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "pulse_planner_fallbacks",
            "Goals the rule-based planner took over from the LLM path, by reason.",
            ["reason"],
            registry=registry,
        )
        self.breaker_state = Gauge(
            "pulse_planner_llm_breaker_state",
            "The LLM path's circuit breaker: 0 closed, 1 half-open, 2 open.",
            registry=registry,
        )

    def cache_lookup(self, layer: str, hit: bool) -> None:
        self.cache_lookups.labels(layer, "hit" if hit else "miss").inc()

    def breaker_changed(self, _old: BreakerState, new: BreakerState) -> None:
        self.breaker_state.set(_BREAKER_VALUE[new])
