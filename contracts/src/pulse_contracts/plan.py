"""A plan is a DAG of steps; a step's input may refer to earlier steps' outputs.

References are strings of the form ``{{steps.<step_id>.output}}``, optionally followed by a
path into the output (``{{steps.s1.output.items.0}}``). A value that is exactly one
reference is replaced by the referenced value with its type; a reference inside a longer
string is replaced by the value's text. A `Plan` validates itself on construction: unique
step ids, references to known steps, `depends_on` covering every reference, no cycle.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, Field, JsonValue, model_validator

__all__ = [
    "REFERENCE_PATTERN",
    "OnFailure",
    "Plan",
    "PlanStep",
    "RetryPolicy",
    "iter_references",
    "topological_order",
]

STEP_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
REFERENCE_PATTERN = re.compile(
    r"\{\{\s*steps\.(?P<step>[A-Za-z0-9_-]+)\.output(?P<path>(?:\.[A-Za-z0-9_-]+)*)\s*\}\}"
)


OnFailure = Literal["fail_run", "continue"]


class RetryPolicy(BaseModel):
    """How often a step is tried, and how long to wait between attempts.

    Only errors marked `retryable` (a timeout, a flaky provider) are retried. The pause
    after the n-th failed attempt is `min(max_delay_s, initial_delay_s * multiplier**(n-1))`,
    spread by `±jitter` (a fraction of it) so that retries of many steps do not align.
    """

    max_attempts: int = Field(
        default=3, ge=1, le=100, description="Attempts in all, first included."
    )
    initial_delay_s: float = Field(default=0.5, ge=0, le=3600)
    multiplier: float = Field(default=2.0, ge=1, le=100)
    max_delay_s: float = Field(default=30.0, ge=0, le=24 * 3600)
    jitter: float = Field(
        default=0.2, ge=0, le=1, description="Spread of each delay, as a fraction."
    )

    def base_delay_s(self, failed_attempts: int) -> float:
        """The pause before the next attempt, after `failed_attempts` (>= 1), without jitter."""
        exponent = max(failed_attempts, 1) - 1
        # Cap the exponent: a huge power overflows a float long before it matters.
        delay = self.initial_delay_s * self.multiplier ** min(exponent, 64)
        return min(self.max_delay_s, delay)


class PlanStep(BaseModel):
    id: str = Field(pattern=STEP_ID_PATTERN)
    tool: str = Field(
        min_length=1, max_length=128, description="Registered tool name, e.g. `calculator`."
    )
    agent: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Agent profile that runs the step; selects the dispatch subject.",
    )
    input: dict[str, JsonValue] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=30.0, gt=0, le=3600)
    description: str = ""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    on_failure: OnFailure = Field(
        default="fail_run",
        description="`fail_run`: a step that finally fails fails the run. `continue`: it and "
        "every step depending on it end failed/skipped while the other branches go on.",
    )


def iter_references(value: JsonValue) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Yield `(step_id, path)` for every step reference found anywhere inside `value`."""
    if isinstance(value, str):
        for match in REFERENCE_PATTERN.finditer(value):
            path = tuple(p for p in match.group("path").split(".") if p)
            yield match.group("step"), path
    elif isinstance(value, list):
        for item in value:
            yield from iter_references(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_references(item)


def topological_order(steps: list[PlanStep]) -> list[str]:
    """Step ids in an order where every step follows its dependencies.

    Raises `ValueError` naming the steps on a cycle.
    """
    remaining = {s.id: set(s.depends_on) for s in steps}
    order: list[str] = []
    while remaining:
        ready = sorted(sid for sid, deps in remaining.items() if not deps)
        if not ready:
            raise ValueError(f"plan has a cycle among steps {sorted(remaining)}")
        for sid in ready:
            del remaining[sid]
            order.append(sid)
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


class Plan(BaseModel):
    steps: list[PlanStep] = Field(min_length=1, max_length=256)

    @model_validator(mode="after")
    def _check_dag(self) -> Plan:
        ids = [s.id for s in self.steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate step ids: {duplicates}")
        known = set(ids)
        for step in self.steps:
            referenced = {ref for ref, _ in iter_references(step.input)}
            unknown = sorted((referenced | set(step.depends_on)) - known)
            if unknown:
                raise ValueError(f"step {step.id!r} refers to unknown steps {unknown}")
            if step.id in referenced or step.id in step.depends_on:
                raise ValueError(f"step {step.id!r} depends on itself")
            # A reference implies a dependency; keep the declared order, add what is missing.
            step.depends_on = step.depends_on + sorted(referenced - set(step.depends_on))
        topological_order(self.steps)
        return self

    def step(self, step_id: str) -> PlanStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def sinks(self) -> list[str]:
        """Steps no other step depends on: their outputs form the run's result."""
        needed = {d for s in self.steps for d in s.depends_on}
        return [s.id for s in self.steps if s.id not in needed]
