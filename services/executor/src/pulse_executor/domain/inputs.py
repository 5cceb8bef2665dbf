"""A step's input as it is dispatched, with large values kept out of the message.

- A field that is exactly `{{steps.<id>.output}}` of a step whose output is in the object
  store travels as that reference (`DispatchTask.input_refs`): nobody reads the value
  but the agent-adapter, just before the tool runs.
- Any other reference to such an output (a path into it, or inside a longer string) needs
  its value: every value the input needs is asked for at once (`BlobsNeeded`).
- While the resolved input's JSON is above the limit, its largest field goes to the object
  store too, under a key derived from its content, so deciding again gives the same
  reference. The bytes to write are part of the transition (`BlobUpload`); the
  coordinator writes them before it stores the state that refers to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulse_contracts import (
    REFERENCE_PATTERN,
    BlobRef,
    JsonValue,
    blob_digest,
    blob_ref,
    encode_blob,
    input_key,
    iter_references,
)
from pulse_executor.domain.references import BlobsNeeded, StepOutputs, resolve_input

__all__ = ["BlobUpload", "PreparedInput", "needed_blobs", "passed_by_reference", "prepare_input"]


@dataclass(frozen=True)
class BlobUpload:
    """A value the transition moved to the object store: written before the state is."""

    ref: BlobRef
    data: bytes


@dataclass(frozen=True)
class PreparedInput:
    input: dict[str, JsonValue]
    refs: dict[str, BlobRef]
    uploads: tuple[BlobUpload, ...] = ()


def passed_by_reference(
    step_input: Mapping[str, JsonValue], outputs: StepOutputs
) -> dict[str, BlobRef]:
    """Fields that are a whole stored output, which travel as its reference."""
    passed: dict[str, BlobRef] = {}
    for key, value in step_input.items():
        whole = REFERENCE_PATTERN.fullmatch(value) if isinstance(value, str) else None
        if whole is not None and not whole.group("path").strip("."):
            ref = outputs.stored.get(whole.group("step"))
            if ref is not None:
                passed[key] = ref
    return passed


def needed_blobs(step_input: Mapping[str, JsonValue], outputs: StepOutputs) -> list[BlobRef]:
    """Stored outputs whose values resolving `step_input` needs and that are not read yet."""
    passed = passed_by_reference(step_input, outputs)
    needed: dict[str, BlobRef] = {}
    for key, value in step_input.items():
        if key in passed:
            continue
        for step_id, _ in iter_references(value):
            ref = outputs.stored.get(step_id)
            if ref is not None and ref.key not in outputs.read:
                needed[ref.key] = ref
    return list(needed.values())


def prepare_input(
    step_input: Mapping[str, JsonValue],
    outputs: StepOutputs,
    *,
    run_id: str,
    step_id: str,
    limit_bytes: int,
) -> PreparedInput:
    """The input to dispatch; raises `BlobsNeeded` or `UnresolvedReference`."""
    needed = needed_blobs(step_input, outputs)
    if needed:
        raise BlobsNeeded(tuple(needed))
    refs = passed_by_reference(step_input, outputs)
    rest = {key: value for key, value in step_input.items() if key not in refs}
    resolved = resolve_input(rest, outputs, run_id=run_id, step_id=step_id)
    uploads: list[BlobUpload] = []
    while resolved and len(encode_blob(resolved)) > limit_bytes:
        encoded = {key: encode_blob(value) for key, value in resolved.items()}
        largest = max(encoded, key=lambda key: (len(encoded[key]), key))
        data = encoded[largest]
        sha256 = blob_digest(data)
        ref = blob_ref(input_key(run_id, step_id, sha256), data, sha256=sha256)
        refs[largest] = ref
        uploads.append(BlobUpload(ref, data))
        del resolved[largest]
    return PreparedInput(
        input={key: None if key in refs else resolved[key] for key in step_input},
        refs={key: refs[key] for key in step_input if key in refs},
        uploads=tuple(uploads),
    )
