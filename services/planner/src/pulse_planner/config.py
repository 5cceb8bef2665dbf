"""The planner's settings: the shared `PULSE_*` ones, its HTTP port, and how it plans."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from pulse_settings import ServiceSettings

__all__ = ["PlannerSettings"]


class PlannerSettings(ServiceSettings):
    service_name: ClassVar[str] = "planner"

    http_port: int = Field(
        default=8081, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics."
    )

    planner_mode: Literal["rule", "auto", "llm"] = Field(
        default="rule",
        description="`rule`: the rule-based grammar only (offline, deterministic). `auto`: the "
        "LLM planner, falling back to the rules when it fails. `llm`: the LLM planner only.",
    )
    planner_agent_simple: str = Field(
        default="default", min_length=1, description="Agent that plans simple goals."
    )
    planner_agent_complex: str = Field(
        default="default", min_length=1, description="Agent that plans complex goals."
    )
    planner_agent_judge: str | None = Field(
        default=None, description="Agent that reviews plans; unset: the complex agent."
    )
    planner_complexity_threshold: int = Field(
        default=6, ge=1, description="Score from which a goal counts as complex."
    )
    planner_judge: bool = Field(
        default=False, description="Have an LLM judge review each LLM plan (one re-plan)."
    )
    planner_llm_timeout_s: float = Field(
        default=15.0, gt=0, le=600, description="Longest wait for one LLM answer."
    )
    planner_budget_s: float = Field(
        default=25.0,
        gt=0,
        le=600,
        description="All LLM work for one goal (plan, repair, review); then the fallback. "
        "Keep it below PULSE_ACK_WAIT_S.",
    )
    planner_max_tokens: int = Field(default=1024, gt=0, le=200_000)
    planner_breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive LLM-path failures that open the breaker."
    )
    planner_breaker_cool_down_s: float = Field(
        default=30.0, ge=0, description="How long the open breaker sends every goal to rules."
    )
    planner_catalogue_refresh_s: float = Field(
        default=30.0, ge=0, description="How often the tool catalogue is re-read."
    )
    planner_cache: bool = Field(default=True, description="Cache LLM plans (exact layer).")
    planner_cache_ttl_s: float = Field(
        default=24 * 3600.0, gt=0, description="How long a cached plan may be reused."
    )
    planner_semantic_cache: bool = Field(
        default=False,
        description="Also reuse plans of goals that mean the same (needs the `semantic` extra).",
    )
    planner_semantic_threshold: float = Field(
        default=0.9, gt=0, le=1, description="Cosine similarity from which goals match."
    )

    @model_validator(mode="after")
    def _budget_fits_the_ack_wait(self) -> PlannerSettings:
        if self.planner_mode != "rule" and self.planner_budget_s >= self.ack_wait_s:
            # Past the ack wait JetStream redelivers the request while it is being planned.
            raise ValueError(
                f"PULSE_PLANNER_BUDGET_S ({self.planner_budget_s:g}) must be below "
                f"PULSE_ACK_WAIT_S ({self.ack_wait_s:g})"
            )
        return self
