"""The LLM planner: ask an agent for a JSON plan, check it, repair it once, review it.

1. The goal's complexity picks the agent: a cheaper one for simple goals, a stronger one
   for complex goals.
2. The prompt (instructions + catalogue as system text, the goal as JSON data) goes out
   as one `LlmRequested`; the answer is parsed and validated against the catalogue.
3. An invalid plan gets one repair attempt, with the validation errors as data.
4. Optionally an LLM judge reviews the valid plan; if it objects, one re-plan on its
   feedback. A re-plan that is not valid leaves the first plan in place; a judge that
   cannot answer approves by default (the plan has passed validation already).

What the caller sees: an `LlmPlan`, or `LlmUnavailable` (no usable answer at all) or
`InvalidPlan` (answers, but no valid plan) — both send the goal to the fallback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pulse_contracts import LlmRequested, Plan, Usage
from pulse_planner.adapters.ports import LlmClient
from pulse_planner.domain.catalogue import SchemaCatalogue
from pulse_planner.domain.complexity import (
    Complexity,
    ComplexityAssessment,
    assess_complexity,
)
from pulse_planner.domain.errors import InvalidPlan, LlmUnavailable
from pulse_planner.domain.parsing import extract_json, extract_plan_document
from pulse_planner.domain.prompts import (
    PromptPart,
    assemble,
    judge_prompt,
    planning_prompt,
    repair_prompt,
    replan_prompt,
)
from pulse_planner.domain.validation import validate_plan

__all__ = ["LlmPlan", "LlmPlanner", "LlmPlannerConfig", "Verdict", "parse_verdict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LlmPlannerConfig:
    simple_agent: str = "default"
    complex_agent: str = "default"
    judge_agent: str | None = None
    """None: the complex agent judges."""
    complexity_threshold: int = 6
    request_timeout_s: float = 15.0
    max_tokens: int = 1024
    judge: bool = False


@dataclass(frozen=True)
class Verdict:
    approved: bool
    feedback: str = ""


@dataclass
class LlmPlan:
    plan: Plan
    agent: str
    complexity: ComplexityAssessment
    calls: int = 0
    repaired: bool = False
    review: str = "off"
    usage: Usage = field(default_factory=Usage)


def parse_verdict(answer: str) -> Verdict:
    """The judge's `{"approved": bool, "feedback": str}`; `ValueError` if it is not one."""
    value = extract_json(answer)
    if not isinstance(value, dict) or not isinstance(value.get("approved"), bool):
        raise ValueError('the verdict needs a boolean "approved"')
    feedback = value.get("feedback", "")
    return Verdict(bool(value["approved"]), feedback if isinstance(feedback, str) else "")


class LlmPlanner:
    def __init__(
        self,
        llm: LlmClient,
        config: LlmPlannerConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._llm = llm
        self.config = config or LlmPlannerConfig()
        self._clock = clock

    @property
    def name(self) -> str:
        return "llm"

    def route(self, goal: str) -> tuple[ComplexityAssessment, str]:
        assessment = assess_complexity(goal, self.config.complexity_threshold)
        agent = (
            self.config.complex_agent
            if assessment.level is Complexity.COMPLEX
            else self.config.simple_agent
        )
        return assessment, agent

    async def plan(
        self,
        goal: str,
        catalogue: SchemaCatalogue,
        *,
        tenant: str = "default",
        run_id: str | None = None,
        deadline: float | None = None,
    ) -> LlmPlan:
        """Plan `goal` with the tools of `catalogue`, within `deadline` (monotonic time)."""
        assessment, agent = self.route(goal)
        call = self._call(agent, tenant, run_id, deadline)
        answer = await call.ask(planning_prompt(catalogue, goal), purpose="plan")
        try:
            plan = _checked(answer, catalogue, run_id)
            repaired = False
        except InvalidPlan as invalid:
            # Validation errors quote the proposed inputs: counted at INFO, listed at DEBUG.
            log.info(
                "LLM plan invalid, asking for a repair",
                extra={"validation_errors": len(invalid.errors)},
            )
            log.debug("LLM plan validation errors", extra={"errors": invalid.errors})
            answer = await call.ask(
                repair_prompt(catalogue, goal, answer, invalid.errors),
                purpose="repair",
                fresh=True,
            )
            plan = _checked(answer, catalogue, run_id)
            repaired = True
        result = LlmPlan(plan, agent, assessment, repaired=repaired)
        if self.config.judge:
            await self._review(call, catalogue, goal, answer, result)
        result.calls, result.usage = call.calls, call.usage
        return result

    def _call(self, agent: str, tenant: str, run_id: str | None, deadline: float | None) -> _Call:
        return _Call(self._llm, self.config, self._clock, agent, tenant, run_id, deadline)

    async def _review(
        self, call: _Call, catalogue: SchemaCatalogue, goal: str, answer: str, result: LlmPlan
    ) -> None:
        judge = self._call(
            self.config.judge_agent or self.config.complex_agent,
            call.tenant,
            call.run_id,
            call.deadline,
        )
        try:
            verdict = parse_verdict(
                await judge.ask(judge_prompt(catalogue, goal, result.plan), purpose="judge")
            )
        except (LlmUnavailable, InvalidPlan, ValueError) as exc:
            log.warning("plan review skipped: %s", exc)
            result.review = "unavailable"
            return
        finally:
            call.calls += judge.calls
            call.usage = call.usage + judge.usage
        if verdict.approved:
            result.review = "approved"
            return
        # The judge's words can quote the goal: kept out of INFO lines.
        log.info("plan review asked for a re-plan")
        log.debug("plan review feedback", extra={"feedback": verdict.feedback})
        try:
            replanned = await call.ask(
                replan_prompt(catalogue, goal, answer, verdict.feedback or "not approved"),
                purpose="replan",
                fresh=True,
            )
            result.plan = _checked(replanned, catalogue, call.run_id)
            result.review = "replanned"
        except (LlmUnavailable, InvalidPlan) as exc:
            log.warning("re-plan failed, keeping the validated plan: %s", exc)
            result.review = "rejected-kept"


def _checked(answer: str, catalogue: SchemaCatalogue, run_id: str | None) -> Plan:
    if not answer.strip():
        raise InvalidPlan(["the answer was empty"], answer=answer, run_id=run_id)
    try:
        document = extract_plan_document(answer)
    except ValueError as exc:
        raise InvalidPlan([str(exc)], answer=answer, run_id=run_id) from None
    return validate_plan(document, catalogue, answer=answer, run_id=run_id)


class _Call:
    """The LLM requests made for one goal by one agent: ids, time left and usage."""

    def __init__(
        self,
        llm: LlmClient,
        config: LlmPlannerConfig,
        clock: Callable[[], float],
        agent: str,
        tenant: str,
        run_id: str | None,
        deadline: float | None,
    ) -> None:
        self.llm = llm
        self.config = config
        self.clock = clock
        self.agent = agent
        self.tenant = tenant
        self.run_id = run_id
        self.deadline = deadline
        self.calls = 0
        self.usage = Usage()

    async def ask(self, parts: Sequence[PromptPart], *, purpose: str, fresh: bool = False) -> str:
        config = self.config
        timeout_s = config.request_timeout_s
        if self.deadline is not None:
            timeout_s = min(timeout_s, self.deadline - self.clock())
            if timeout_s <= 0:
                raise LlmUnavailable("the planning budget is spent", run_id=self.run_id)
        self.calls += 1
        # Validated from a dict: `timeout_s` and `cache` are read by adapters that know
        # them and dropped by older contracts (messages ignore unknown fields).
        request = LlmRequested.model_validate(
            {
                "message_id": f"run:{self.run_id or 'none'}:plan:llm:{purpose}",
                "run_id": self.run_id,
                "tenant": self.tenant,
                "agent": self.agent,
                "messages": [m.model_dump() for m in assemble(parts)],
                "max_tokens": config.max_tokens,
                "temperature": 0.0,
                # The adapter answers (if only with a `busy` error) before we give up.
                "timeout_s": max(0.001, round(timeout_s * 0.9, 3)),
                "cache": not fresh,
            }
        )
        reply = await self.llm.complete(request, timeout_s=timeout_s)
        self.usage = self.usage + reply.usage
        if reply.error is not None:
            raise LlmUnavailable(
                f"the LLM failed ({reply.error.code}): {reply.error.message}", run_id=self.run_id
            )
        return reply.text
