"""The DAG every system runs in the comparison, and what its tools' clocks say (pure: no I/O).

The shape is a diamond, 1 -> 3 parallel -> 1: `s1`, then `s2`, `s3`, `s4` side by side, then
`s5` once all three are done. Every system gets the same five inputs from `step_inputs`;
Pulse receives them as a goal its rule-based planner turns into exactly this plan
(`pulse_goal`, checked per run by `plan_matches`), Temporal and the raw JetStream runner as
data.

Timings come from the tools themselves: each one notes when it started and finished, with
the wall clock of the process it ran in (all on one machine). *Step overhead* is what the
orchestrator adds between a step and one that waited for it: from the predecessor's tool
finishing (the last of them, for a join) to the successor's tool starting — the result
travelling back, the state change, the decision, the dispatch and the pick-up. The same
definition for every system, with no reliance on any system's own bookkeeping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from pulse_contracts import Plan, PlanStep

__all__ = [
    "DIAMOND",
    "TOOL_NAMES",
    "DagRun",
    "DagStep",
    "SystemName",
    "ToolKind",
    "ToolWindow",
    "calculator_plan",
    "critical_path_s",
    "levels",
    "plan_matches",
    "pulse_goal",
    "run_span_s",
    "step_inputs",
    "step_overheads_s",
]

SystemName = Literal["pulse", "temporal", "jetstream"]

ToolKind = Literal["calculator", "llm"]
"""`calculator`: zero-latency work (W1, W3); `llm`: a simulated model call (W2)."""

TOOL_NAMES: Final[dict[ToolKind, str]] = {"calculator": "calculator", "llm": "llm.complete"}
"""The tool each kind calls, under Pulse's names (the other systems use the same names)."""


@dataclass(frozen=True)
class DagStep:
    step_id: str
    depends_on: tuple[str, ...]


DIAMOND: Final[tuple[DagStep, ...]] = (
    DagStep("s1", ()),
    DagStep("s2", ("s1",)),
    DagStep("s3", ("s1",)),
    DagStep("s4", ("s1",)),
    DagStep("s5", ("s2", "s3", "s4")),
)
"""In topological order, with the step ids Pulse's planner gives."""


def step_inputs(kind: ToolKind, tag: str) -> dict[str, str]:
    """Each step's input text; `tag` keeps runs apart (a number for the calculator)."""
    if kind == "calculator":
        return {step.step_id: f"{tag} + {i}" for i, step in enumerate(DIAMOND, start=1)}
    return {
        step.step_id: f"write note {i} of batch {tag}" for i, step in enumerate(DIAMOND, start=1)
    }


def pulse_goal(kind: ToolKind, tag: str) -> str:
    """The goal Pulse's rule-based planner turns into `DIAMOND` with `step_inputs` as inputs.

    "then" separates the three levels (each waits for the whole level before it) and "and"
    the parallel steps of the middle level.
    """
    verb = "calculate" if kind == "calculator" else "ask the llm to"
    clause = {step_id: f"{verb} {text}" for step_id, text in step_inputs(kind, tag).items()}
    middle = " and ".join(clause[s] for s in ("s2", "s3", "s4"))
    return f"{clause['s1']}, then {middle}, then {clause['s5']}"


def plan_matches(plan: Sequence[tuple[str, str, Sequence[str]]], kind: ToolKind) -> bool:
    """True when a plan of (step id, tool, depends on) is `DIAMOND` calling the kind's tool."""
    expected = [(s.step_id, TOOL_NAMES[kind], sorted(s.depends_on)) for s in DIAMOND]
    return [(sid, tool, sorted(deps)) for sid, tool, deps in plan] == expected


def levels(dag: Sequence[DagStep] = DIAMOND) -> tuple[tuple[str, ...], ...]:
    """Step ids by depth, in `dag`'s order: a level starts once the one before has ended."""
    depth: dict[str, int] = {}
    for step in dag:  # topological order: every dependency already has its depth
        depth[step.step_id] = 1 + max((depth[d] for d in step.depends_on), default=-1)
    return tuple(
        tuple(sid for sid, d in depth.items() if d == level)
        for level in range(max(depth.values()) + 1)
    )


def calculator_plan(tag: str, *, timeout_s: float = 30.0) -> Plan:
    """The plan Pulse's planner makes of `pulse_goal("calculator", tag)`, for the scripts
    that drive one service with it directly."""
    inputs = step_inputs("calculator", tag)
    return Plan(
        steps=[
            PlanStep(
                id=step.step_id,
                tool=TOOL_NAMES["calculator"],
                input={"expression": inputs[step.step_id]},
                depends_on=list(step.depends_on),
                timeout_s=timeout_s,
            )
            for step in DIAMOND
        ]
    )


def critical_path_s(tool_latency_s: float) -> float:
    """The least a run can take: one tool call per level."""
    return len(levels()) * tool_latency_s


@dataclass(frozen=True)
class ToolWindow:
    """One step's tool call as the process that ran it saw it (Unix time, seconds)."""

    step_id: str
    depends_on: tuple[str, ...]
    started: float
    finished: float


@dataclass(frozen=True)
class DagRun:
    """One run of the DAG on some system, as the benchmark's client saw it."""

    ok: bool
    submitted_s: float
    """perf_counter() just before the run was submitted."""
    ended_s: float
    """perf_counter() when the client learned that the run had ended."""
    windows: tuple[ToolWindow, ...] = ()
    error: str | None = None

    @property
    def end_to_end_s(self) -> float:
        return self.ended_s - self.submitted_s


def step_overheads_s(windows: Sequence[ToolWindow]) -> list[float]:
    """For every step that waited for others: its tool's start minus the last predecessor's end.

    A step whose predecessors are not all in `windows` is skipped.
    """
    by_id: Mapping[str, ToolWindow] = {w.step_id: w for w in windows}
    gaps: list[float] = []
    for window in windows:
        if not window.depends_on or any(d not in by_id for d in window.depends_on):
            continue
        ready = max(by_id[d].finished for d in window.depends_on)
        gaps.append(window.started - ready)
    return gaps


def run_span_s(windows: Sequence[ToolWindow]) -> float:
    """First tool start to last tool end: the run on the orchestrator, without the client."""
    if not windows:
        raise ValueError("no tool windows")
    return max(w.finished for w in windows) - min(w.started for w in windows)
