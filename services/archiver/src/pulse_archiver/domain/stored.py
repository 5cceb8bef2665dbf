"""Values an event carries by reference (`BlobRef`), put back where the archive keeps them.

Large step outputs travel as references to the object store; the archive keeps their
content: `steps.output`, `steps.input` and `runs.result` hold the values, while the
`events` table keeps each event as it travelled, with its references. The handler reads
the values (`refs_of` says which) and hands them in by key; a value that could not be
read stays null.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulse_contracts import (
    BlobRef,
    JsonValue,
    RunCompleted,
    RunEvent,
    StepCompleted,
    StepDispatched,
)

__all__ = ["StoredValues", "refs_of", "with_input", "with_output", "with_result"]

StoredValues = Mapping[str, JsonValue]
"""Values read from the object store, by key."""


def refs_of(event: RunEvent) -> list[BlobRef]:
    """Every reference in `event` whose value the archive keeps."""
    match event:
        case StepCompleted(output_ref=BlobRef() as ref):
            return [ref]
        case StepDispatched() | RunCompleted():
            refs = event.input_refs if isinstance(event, StepDispatched) else event.result_refs
            return list(refs.values())
    return []


def with_output(event: StepCompleted, values: StoredValues) -> JsonValue:
    ref = event.output_ref
    return event.output if ref is None else values.get(ref.key)


def with_input(event: StepDispatched, values: StoredValues) -> dict[str, JsonValue]:
    return {
        key: values.get(ref.key) if (ref := event.input_refs.get(key)) else value
        for key, value in event.input.items()
    }


def with_result(event: RunCompleted, values: StoredValues) -> JsonValue:
    """With one sink the result is its output, null when stored; with several, a dict of
    them by step id, where each stored one is null."""
    refs = event.result_refs
    if not refs:
        return event.result
    if event.result is None and len(refs) == 1:
        [only] = refs.values()
        return values.get(only.key)
    if isinstance(event.result, dict):
        return {
            sid: values.get(ref.key) if (ref := refs.get(sid)) else output
            for sid, output in event.result.items()
        }
    return event.result
