"""The gateway's Prometheus metrics, registered on the service's registry.

Names agreed across Pulse (issue 6): `pulse_llm_request_duration_seconds`,
`pulse_cache_requests_total{layer,result}` (the planner counts its plan cache under the same
name), `pulse_circuit_breaker_state{breaker}` (the planner's breaker too),
`pulse_llm_stage_seconds{stage}` and `pulse_llm_budget_remaining_ratio{tenant}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pulse_resilience import BreakerState

__all__ = ["BREAKER_VALUES", "STAGES", "LlmMetrics"]

BREAKER_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}

STAGES = ("prompt_build", "llm_call", "post_process")
"""Where an LLM call's time goes: rendering the messages and fitting them to the context
(token counting, guard); the provider answering (retries included); parsing, accounting
and caching the answer."""


@dataclass(frozen=True)
class LlmMetrics:
    calls: Counter
    request_seconds: Histogram
    stage_seconds: Histogram
    tokens: Counter
    cost: Counter
    retries: Counter
    fallbacks: Counter
    busy: Counter
    budget_refusals: Counter
    guard: Counter
    cache_requests: Counter
    breaker_state: Gauge
    budget_remaining: Gauge
    in_flight: Gauge
    _series: dict[tuple[int, tuple[str, ...]], Counter | Histogram] = field(
        default_factory=dict, init=False, repr=False
    )
    """Labelled series already looked up: `labels()` costs microseconds, and a call
    touched about ten of them."""

    @classmethod
    def on(cls, registry: CollectorRegistry) -> LlmMetrics:
        return cls(
            calls=Counter(
                "pulse_llm_calls_total",
                "LLM calls by agent, provider, model and outcome (ok, cached, error).",
                ("agent", "provider", "model", "outcome"),
                registry=registry,
            ),
            request_seconds=Histogram(
                "pulse_llm_request_duration_seconds",
                "Time a provider took to answer a request (retries included, queueing "
                "for a slot not), by provider and model.",
                ("provider", "model"),
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80),
                registry=registry,
            ),
            stage_seconds=Histogram(
                "pulse_llm_stage_seconds",
                "Time an LLM call spent per stage: prompt_build, llm_call, post_process.",
                ("stage",),
                buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 40),
                registry=registry,
            ),
            tokens=Counter(
                "pulse_llm_tokens_total",
                "Tokens used, by tenant, agent, provider, model and kind (prompt, completion).",
                ("tenant", "agent", "provider", "model", "kind"),
                registry=registry,
            ),
            cost=Counter(
                "pulse_llm_cost_usd_total",
                "What LLM calls cost in USD (price table), by tenant, agent, provider, model.",
                ("tenant", "agent", "provider", "model"),
                registry=registry,
            ),
            retries=Counter(
                "pulse_llm_retries_total",
                "Provider requests retried, by provider and reason (status, timeout...).",
                ("provider", "reason"),
                registry=registry,
            ),
            fallbacks=Counter(
                "pulse_llm_fallbacks_total",
                "Times an agent's chain moved past a provider, by agent, provider and reason.",
                ("agent", "provider", "reason"),
                registry=registry,
            ),
            busy=Counter(
                "pulse_llm_busy_total",
                "Calls refused or given up for lack of capacity, by provider.",
                ("provider",),
                registry=registry,
            ),
            budget_refusals=Counter(
                "pulse_llm_budget_refusals_total",
                "Calls refused because the tenant's budget could not cover them.",
                ("tenant",),
                registry=registry,
            ),
            guard=Counter(
                "pulse_llm_token_guard_total",
                "Prompts the token-limit guard changed, by agent and warning.",
                ("agent", "warning"),
                registry=registry,
            ),
            cache_requests=Counter(
                "pulse_cache_requests_total",
                "Response-cache lookups by layer (memory, kv, semantic) and result (hit, miss).",
                ("layer", "result"),
                registry=registry,
            ),
            breaker_state=Gauge(
                "pulse_circuit_breaker_state",
                "Circuit breaker per `<provider>/<model>`: 0 closed, 1 half-open, 2 open.",
                ("breaker",),
                registry=registry,
            ),
            budget_remaining=Gauge(
                "pulse_llm_budget_remaining_ratio",
                "Share of the tenant's budget for the current period not yet spent (0..1); "
                "only tenants with a budget.",
                ("tenant",),
                registry=registry,
            ),
            in_flight=Gauge(
                "pulse_llm_in_flight",
                "Provider calls holding a concurrency slot, by provider.",
                ("provider",),
                registry=registry,
            ),
        )

    def breaker_changed(self, provider: str, model: str, state: BreakerState) -> None:
        self.breaker_state.labels(f"{provider}/{model}").set(BREAKER_VALUES[state])

    def counter(self, metric: Counter, *labels: str) -> Counter:
        """`metric.labels(*labels)`, looked up once."""
        key = (id(metric), labels)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metric.labels(*labels)
        assert isinstance(series, Counter)
        return series

    def histogram(self, metric: Histogram, *labels: str) -> Histogram:
        """`metric.labels(*labels)`, looked up once."""
        key = (id(metric), labels)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metric.labels(*labels)
        assert isinstance(series, Histogram)
        return series

    def stage(self, stage: str, seconds: float) -> None:
        self.histogram(self.stage_seconds, stage).observe(seconds)

    def retried(self, provider: str, reason: str) -> None:
        self.retries.labels(provider, reason).inc()
