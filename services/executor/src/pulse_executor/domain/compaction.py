"""Keeping the run document small enough for the KV bucket and the events built from it.

Each output below the large-value limit travels inline, but many of them together (or
many resolved inputs) could make the run document — and a `RunCompleted` whose result
holds several sinks — exceed NATS' payload limit. So after every transition, while the
document is above its budget (`ExecutorRunState.state_budget_bytes`), its largest inline
step output or input field moves to the object store, under the same content-addressed
keys the agent-adapter and input preparation use. The state then refers to it exactly as
if it had been stored from the start, so deciding again gives the same document. Values
under `MIN_MOVED_BYTES` stay: a reference is not much smaller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pulse_contracts import (
    JsonValue,
    RunStatus,
    StepStatus,
    blob_digest,
    blob_ref,
    encode_blob,
    input_key,
    output_key,
)
from pulse_executor.domain.inputs import BlobUpload
from pulse_executor.domain.state import ExecutorRunState

__all__ = ["MIN_MOVED_BYTES", "compact"]

MIN_MOVED_BYTES: Final = 1024


@dataclass(frozen=True)
class _Inline:
    size: int
    step_id: str
    field: str | None
    """None for the step's output, else the input field."""
    data: bytes


def _candidates(state: ExecutorRunState) -> list[_Inline]:
    found: list[_Inline] = []
    for sid, step in state.steps.items():
        if step.output_ref is None and step.output is not None:
            data = encode_blob(step.output)
            found.append(_Inline(len(data), sid, None, data))
        for key, value in step.input.items():
            if key not in step.input_refs and value is not None:
                data = encode_blob(value)
                found.append(_Inline(len(data), sid, key, data))
    found = [c for c in found if c.size >= MIN_MOVED_BYTES]
    # Largest first; ties in a fixed order, so the same state always compacts the same way.
    return sorted(found, key=lambda c: (-c.size, c.step_id, c.field or ""))


def _size(state: ExecutorRunState) -> int:
    return len(state.model_dump_json().encode())


def compact(state: ExecutorRunState) -> list[BlobUpload]:
    """Move inline values of `state` to the object store until it fits its budget; return
    what to write. Edits `state` in place (a transition's draft)."""
    budget = state.state_budget_bytes
    if _size(state) <= budget:
        return []
    uploads: list[BlobUpload] = []
    for item in _candidates(state):
        # Measured each time: a sink's output also sits in the run's result.
        if uploads and _size(state) <= budget:
            break
        step = state.steps[item.step_id]
        sha256 = blob_digest(item.data)
        if item.field is None:
            ref = blob_ref(output_key(state.run_id, step.step_id, step.attempt, sha256), item.data)
            step.output, step.output_ref = None, ref
            _result_by_reference(state, step.step_id)
        else:
            ref = blob_ref(input_key(state.run_id, step.step_id, sha256), item.data)
            step.input = {**step.input, item.field: None}  # replaced: the dict may be shared
            step.input_refs = {**step.input_refs, item.field: ref}
        uploads.append(BlobUpload(ref, item.data))
    return uploads


def _result_by_reference(state: ExecutorRunState, step_id: str) -> None:
    """A sink's output moved: the run's result refers to it instead of holding it."""
    step = state.steps[step_id]
    if step.status is not StepStatus.COMPLETED or step.output_ref is None or state.plan is None:
        return
    if step_id not in state.plan.sinks() or state.status is not RunStatus.COMPLETED:
        return
    result: JsonValue = state.result
    if len(state.plan.sinks()) == 1:
        state.result = None
    elif isinstance(result, dict) and step_id in result:
        state.result = {**result, step_id: None}
    else:
        return
    state.result_refs = {**state.result_refs, step_id: step.output_ref}
