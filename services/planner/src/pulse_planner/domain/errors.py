"""Why the LLM path could not produce a plan; each one sends the goal to the fallback."""

from __future__ import annotations

from collections.abc import Sequence

from pulse_contracts import PlanningFailed

__all__ = ["InvalidPlan", "LlmPaused", "LlmUnavailable"]


class LlmUnavailable(PlanningFailed):
    """No usable answer from the LLM: no adapter listening, a timeout, a provider error,
    an open circuit breaker, or the planning budget spent."""


class LlmPaused(LlmUnavailable):
    """The circuit breaker is open: the LLM was not even asked."""


class InvalidPlan(PlanningFailed):
    """The LLM answered, but not with a plan that passes validation; `errors` lists every
    problem found, in words the LLM can act on in a repair attempt."""

    def __init__(
        self,
        errors: Sequence[str],
        *,
        answer: str = "",
        run_id: str | None = None,
    ) -> None:
        self.errors = tuple(errors)
        self.answer = answer
        super().__init__("the plan is not valid: " + "; ".join(self.errors), run_id=run_id)
