"""Planners turn a goal into a validated `Plan`; the rule-based one needs no LLM at all.

How the rule-based planner reads a goal:

- "then" cuts the goal into groups that run one after another: every step of a group
  depends on the last steps (the sinks) of the group before — a barrier;
- "," / ";" / "and" cut a group into clauses that run in parallel unless one refers to an
  earlier result ("the result", "both results"), which adds that dependency;
- a fragment no rule understands continues the clause before it when that clause ends in
  free text ("write a poem about cats and dogs"); otherwise the goal is rejected with a
  reason naming the fragment and listing what is understood;
- step ids are s1, s2, ... in order; every step runs on the "default" agent and is
  described by its clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from pydantic import ValidationError

from pulse_contracts import REFERENCE_PATTERN, Plan, PlanningFailed, PlanStep
from pulse_planner.domain.rules import HELP, RuleMatch, match_rule
from pulse_planner.domain.text import Separator, split_fragments
from pulse_planner.domain.tools import KNOWN_TOOLS, ToolCatalogue

__all__ = ["DEFAULT_AGENT", "MAX_STEPS", "Planner", "RuleBasedPlanner"]

DEFAULT_AGENT: Final = "default"
MAX_STEPS: Final = 256


class Planner(Protocol):
    """Anything that turns a goal into a plan, or raises `PlanningFailed` saying why not."""

    @property
    def name(self) -> str:
        """Recorded in `PlanCreated.planner`, e.g. `rule-based`."""
        ...

    def plan(self, prompt: str) -> Plan: ...


@dataclass(frozen=True)
class _Clause:
    group: int
    fragment: str
    found: RuleMatch


def _step_number(step_id: str) -> int:
    return int(step_id[1:])


class RuleBasedPlanner:
    """A deterministic planner for a small, documented grammar (see the module docstring)."""

    def __init__(self, tools: ToolCatalogue = KNOWN_TOOLS) -> None:
        self._tools = tools

    @property
    def name(self) -> str:
        return "rule-based"

    def plan(self, prompt: str) -> Plan:
        goal = prompt.strip()
        if not goal:
            raise PlanningFailed(f"the goal is empty. {HELP}")
        if REFERENCE_PATTERN.search(goal):
            # Only the planner writes step references; one typed by the user could point
            # anywhere, so it is refused rather than passed on.
            raise PlanningFailed(
                'the goal contains a step reference like "{{steps.<id>.output}}"; '
                'say "the result" instead'
            )
        steps = self._steps(self._clauses(goal))
        for step in steps:
            try:
                self._tools.check(step.tool, step.input)
            except PlanningFailed as exc:
                raise PlanningFailed(f'"{step.description}": {exc.message}') from None
        if len(steps) > MAX_STEPS:
            raise PlanningFailed(
                f"the goal needs {len(steps)} steps; a plan holds at most {MAX_STEPS}"
            )
        try:
            return Plan(steps=steps)
        except ValidationError as exc:
            reasons = "; ".join(str(error["msg"]) for error in exc.errors())
            raise PlanningFailed(f"the plan is not valid: {reasons}") from None

    def _clauses(self, goal: str) -> list[_Clause]:
        clauses: list[_Clause] = []
        group = 0
        for fragment in split_fragments(goal):
            found = match_rule(fragment.text)
            if found is None:
                previous = clauses[-1] if clauses else None
                if (
                    previous is not None
                    and fragment.separator is Separator.CLAUSE
                    and previous.found.rule.open_ended
                ):
                    merged = previous.fragment + fragment.joint + fragment.text
                    again = match_rule(merged)
                    if again is not None and again.rule is previous.found.rule:
                        clauses[-1] = _Clause(previous.group, merged, again)
                        continue
                raise PlanningFailed(f'I do not understand "{fragment.text}". {HELP}')
            if fragment.separator is Separator.THEN:
                group += 1
            clauses.append(_Clause(group, fragment.text, found))
        return clauses

    def _steps(self, clauses: Sequence[_Clause]) -> list[PlanStep]:
        steps: list[PlanStep] = []
        groups: list[list[PlanStep]] = []
        barrier: list[str] = []
        for clause in clauses:
            if clause.group == len(groups):
                if groups:
                    barrier = self._sinks(groups[-1])
                groups.append([])
            current = groups[clause.group]
            if current:
                earlier = [s.id for s in current]
            elif clause.group > 0:
                earlier = [s.id for s in groups[clause.group - 1]]
            else:
                earlier = []
            for draft in clause.found.build(earlier):
                step = PlanStep(
                    id=f"s{len(steps) + 1}",
                    tool=draft.tool,
                    agent=DEFAULT_AGENT,
                    input=draft.input,
                    depends_on=sorted({*barrier, *draft.refs}, key=_step_number),
                    description=clause.found.text,
                )
                steps.append(step)
                current.append(step)
        return steps

    @staticmethod
    def _sinks(group: Sequence[PlanStep]) -> list[str]:
        """The group's steps no other step of the group waits for: its results."""
        needed = {d for step in group for d in step.depends_on}
        return [step.id for step in group if step.id not in needed]
