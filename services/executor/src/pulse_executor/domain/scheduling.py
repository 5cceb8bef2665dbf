"""Which steps can run now, and what a finished plan's result is."""

from __future__ import annotations

from collections.abc import Mapping

from pulse_contracts import JsonValue, Plan, StepState, StepStatus

__all__ = ["completed_outputs", "ready_steps", "run_result"]


def ready_steps(plan: Plan, steps: Mapping[str, StepState]) -> list[str]:
    """Pending steps whose dependencies have all completed, in plan order.

    Every one of them is dispatched at once: independent steps run in parallel.
    """
    done = {sid for sid, step in steps.items() if step.status is StepStatus.COMPLETED}
    return [
        s.id
        for s in plan.steps
        if steps[s.id].status is StepStatus.PENDING and set(s.depends_on) <= done
    ]


def completed_outputs(steps: Mapping[str, StepState]) -> dict[str, JsonValue]:
    return {sid: s.output for sid, s in steps.items() if s.status is StepStatus.COMPLETED}


def run_result(plan: Plan, steps: Mapping[str, StepState]) -> JsonValue:
    """The single sink's output, or `{sink_id: output}` when the plan has several sinks."""
    sinks = plan.sinks()
    if len(sinks) == 1:
        return steps[sinks[0]].output
    return {sid: steps[sid].output for sid in sinks}
