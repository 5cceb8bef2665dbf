"""Which steps can run now, and what a finished plan's result is."""

from __future__ import annotations

from collections.abc import Mapping

from pulse_contracts import BlobRef, JsonValue, Plan, StepState, StepStatus
from pulse_executor.domain.references import NOTHING_READ, ReadBlobs, StepOutputs

__all__ = ["completed_outputs", "ready_steps", "result_refs", "run_result", "step_outputs"]


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


def step_outputs(steps: Mapping[str, StepState], read: ReadBlobs = NOTHING_READ) -> StepOutputs:
    """The completed steps' outputs, those in the object store by reference."""
    done = {sid: s for sid, s in steps.items() if s.status is StepStatus.COMPLETED}
    return StepOutputs(
        inline={sid: s.output for sid, s in done.items() if s.output_ref is None},
        stored={sid: s.output_ref for sid, s in done.items() if s.output_ref is not None},
        read=read,
    )


def result_refs(sinks: list[str], steps: Mapping[str, StepState]) -> dict[str, BlobRef]:
    """The sinks among `sinks` whose output is in the object store (null in the result)."""
    return {sid: ref for sid in sinks if (ref := steps[sid].output_ref) is not None}


def run_result(plan: Plan, steps: Mapping[str, StepState]) -> JsonValue:
    """The single sink's output, or `{sink_id: output}` when the plan has several sinks."""
    sinks = plan.sinks()
    if len(sinks) == 1:
        return steps[sinks[0]].output
    return {sid: steps[sid].output for sid in sinks}
