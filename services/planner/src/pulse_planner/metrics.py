"""The planner's Prometheus metrics beyond the published outcomes.

Names shared with the agent-adapter (`pulse_cache_requests_total`,
`pulse_circuit_breaker_state`) carry the same labels there, so one dashboard panel shows
every cache layer and every breaker: the plan cache is `layer="plan"`, the LLM path's
breaker `breaker="planner-llm"`.
"""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pulse_resilience import BreakerState, CircuitBreaker

__all__ = ["PlanLatencyLabel", "PlannerMetrics"]

_BREAKER_VALUE: Final = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}

PlanLatencyLabel = Literal["rule-based", "llm", "cache"]
"""Who answered: the rules, the LLM path, or the plan cache (an earlier LLM plan)."""

# Rules answer in milliseconds, the LLM path in seconds, up to its budget (25 s by default).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 40, 60)


class PlannerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs_planned = Counter(
            "pulse_planner_runs_planned",
            "Plans published, by outcome (created, rejected) and planner; resends dropped by "
            "JetStream as duplicates are not counted.",
            ["outcome", "planner"],
            registry=registry,
        )
        self.plan_latency = Histogram(
            "pulse_plan_latency_seconds",
            "From receiving a RunRequested to publishing its PlanCreated or PlanRejected.",
            ["planner", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.cache_requests = Counter(
            "pulse_cache_requests",
            "Cache lookups by layer and result (the planner's plan cache is layer=plan).",
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
            "pulse_circuit_breaker_state",
            "Circuit breakers: 0 closed, 1 half-open, 2 open.",
            ["breaker"],
            registry=registry,
        )

    def planned(self, planner: PlanLatencyLabel, rejected: bool, seconds: float) -> None:
        outcome = "rejected" if rejected else "planned"
        self.plan_latency.labels(planner, outcome).observe(seconds)

    def plan_cache_lookup(self, hit: bool) -> None:
        self.cache_requests.labels("plan", "hit" if hit else "miss").inc()

    def watch(self, breaker: CircuitBreaker) -> None:
        """Report `breaker`'s state as read at scrape time: an open breaker whose cool-down
        is over reads half-open, even when no goal came by to notice."""
        self.breaker_state.labels(breaker.name).set_function(lambda: _BREAKER_VALUE[breaker.state])
