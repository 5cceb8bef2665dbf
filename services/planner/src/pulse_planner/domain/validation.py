"""Checking a plan proposed by an LLM before anything runs it.

Every problem is collected (not just the first), phrased so that the model can fix it in
one repair attempt: the document's shape, step ids, known tools, each input against its
tool's JSON Schema, references and `depends_on` pointing at steps of the plan, and no
cycle. Only a plan that passes all of them becomes a `Plan`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from pydantic import JsonValue, ValidationError

from pulse_contracts import Plan, PlanStep, iter_references, topological_order
from pulse_planner.domain.catalogue import SchemaCatalogue
from pulse_planner.domain.errors import InvalidPlan
from pulse_planner.domain.planner import DEFAULT_AGENT, MAX_STEPS

__all__ = ["plan_errors", "validate_plan"]

_STEP_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_DESCRIPTION: Final = 500


def _step_errors(index: int, raw: JsonValue, catalogue: SchemaCatalogue) -> list[str]:
    where = f"steps[{index}]"
    if not isinstance(raw, dict):
        return [f"{where} must be an object"]
    errors: list[str] = []
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not _STEP_ID.match(step_id):
        errors.append(f"{where}: id must be a string of letters, digits, _ or - (like s1)")
    else:
        where = f"step {step_id}"
    tool = raw.get("tool")
    step_input = raw.get("input", {})
    if not isinstance(step_input, dict):
        errors.append(f"{where}: input must be an object")
    if not isinstance(tool, str):
        errors.append(f"{where}: tool must be a string")
    elif tool not in catalogue:
        errors.append(
            f"{where}: unknown tool {tool!r}; known tools: {', '.join(catalogue.names())}"
        )
    elif isinstance(step_input, dict):
        errors += [f"{where}: {e}" for e in catalogue.input_errors(tool, step_input)]
    depends_on = raw.get("depends_on", [])
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        errors.append(f"{where}: depends_on must be a list of step ids")
    if not isinstance(raw.get("description", ""), str):
        errors.append(f"{where}: description must be a string")
    return errors


def _graph_errors(steps: list[dict[str, JsonValue]]) -> list[str]:
    """References and dependencies point at other steps of the plan, and form no cycle."""
    ids = [str(s["id"]) for s in steps]
    known = set(ids)
    errors = [f"step id {i!r} is used more than once" for i in sorted(known) if ids.count(i) > 1]
    graph: dict[str, set[str]] = {}
    for step, step_id in zip(steps, ids, strict=True):
        declared = {str(d) for d in _list(step.get("depends_on"))}
        referenced = {ref for ref, _path in iter_references(step.get("input", {}))}
        for ref in sorted(referenced - known):
            errors.append(f"step {step_id}: reference to unknown step {ref!r}")
        for dep in sorted(declared - known):
            errors.append(f"step {step_id}: depends_on names unknown step {dep!r}")
        if step_id in referenced | declared:
            errors.append(f"step {step_id}: depends on itself")
        graph[step_id] = ((declared | referenced) & known) - {step_id}
    if not errors:
        try:
            topological_order(
                [PlanStep(id=sid, tool="x", depends_on=sorted(deps)) for sid, deps in graph.items()]
            )
        except ValueError as exc:
            errors.append(str(exc))
    return errors


def _list(value: JsonValue | None) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def plan_errors(document: Mapping[str, JsonValue], catalogue: SchemaCatalogue) -> list[str]:
    """Every problem with the proposed plan `document`; empty when it is valid."""
    steps = document.get("steps")
    if not isinstance(steps, list) or not steps:
        return ['the plan must be an object with a non-empty "steps" list']
    if len(steps) > MAX_STEPS:
        return [f"the plan has {len(steps)} steps; at most {MAX_STEPS} are allowed"]
    errors: list[str] = []
    for index, raw in enumerate(steps):
        errors += _step_errors(index, raw, catalogue)
    if errors:
        return errors
    return _graph_errors([s for s in steps if isinstance(s, dict)])


def validate_plan(
    document: Mapping[str, JsonValue],
    catalogue: SchemaCatalogue,
    *,
    answer: str = "",
    run_id: str | None = None,
) -> Plan:
    """The `Plan` in `document`, or `InvalidPlan` listing every problem with it."""
    errors = plan_errors(document, catalogue)
    if errors:
        raise InvalidPlan(errors, answer=answer, run_id=run_id)
    steps: list[PlanStep] = []
    try:
        for raw in _list(document["steps"]):
            assert isinstance(raw, dict)
            description = raw.get("description")
            steps.append(
                PlanStep(
                    id=str(raw["id"]),
                    tool=str(raw["tool"]),
                    agent=DEFAULT_AGENT,
                    input=raw.get("input") or {},
                    depends_on=[str(d) for d in _list(raw.get("depends_on"))],
                    description=description[:_MAX_DESCRIPTION]
                    if isinstance(description, str)
                    else "",
                )
            )
        return Plan(steps=steps)
    except ValidationError as exc:
        reasons = [str(error["msg"]) for error in exc.errors()]
        raise InvalidPlan(reasons, answer=answer, run_id=run_id) from None
