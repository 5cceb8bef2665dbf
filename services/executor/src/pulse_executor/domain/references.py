"""Resolving `{{steps.<id>.output[.path]}}` references in a step's input.

A value that is exactly one reference becomes the referenced value with its JSON type; a
reference inside a longer string becomes its text (a string as-is, anything else as
compact JSON). A path walks dict keys and list indices.

An output kept in the object store is read only when a reference needs its value: the
resolution asks for it by raising `BlobsNeeded`, and is run again with the value in
`ReadBlobs` (the coordinator reads it; the domain does no I/O).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pulse_contracts import REFERENCE_PATTERN, BlobRef, JsonValue, UnresolvedReference

__all__ = [
    "NOTHING_READ",
    "BlobsNeeded",
    "ReadBlobs",
    "StepOutputs",
    "lookup",
    "render_text",
    "resolve_input",
    "resolve_value",
]

_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


class BlobsNeeded(Exception):
    """Resolving needs these stored outputs' values: read them and decide again."""

    def __init__(self, refs: tuple[BlobRef, ...]) -> None:
        super().__init__(f"needs {len(refs)} stored value(s): {', '.join(r.key for r in refs)}")
        self.refs = refs


@dataclass(frozen=True)
class ReadBlobs:
    """What the coordinator read from the object store for one transition."""

    values: Mapping[str, JsonValue] = field(default_factory=dict)
    """Values by key."""
    missing: frozenset[str] = frozenset()
    """Keys the object store no longer has (expired) or holds corrupt."""

    def __contains__(self, key: object) -> bool:
        return key in self.values or key in self.missing

    def plus(self, values: Mapping[str, JsonValue], missing: frozenset[str]) -> ReadBlobs:
        return ReadBlobs({**self.values, **values}, self.missing | missing)


NOTHING_READ = ReadBlobs()


@dataclass(frozen=True)
class StepOutputs:
    """The completed steps' outputs as a transition sees them."""

    inline: Mapping[str, JsonValue]
    stored: Mapping[str, BlobRef] = field(default_factory=dict)
    """Completed steps whose output is in the object store."""
    read: ReadBlobs = NOTHING_READ

    def __contains__(self, step_id: object) -> bool:
        return step_id in self.inline or step_id in self.stored

    def value(self, step_id: str) -> JsonValue:
        """The step's output; `KeyError` if it has none, `BlobsNeeded` if not read yet."""
        ref = self.stored.get(step_id)
        if ref is None:
            if step_id not in self.inline:
                raise KeyError(f"step {step_id!r} has no output")
            return self.inline[step_id]
        if ref.key in self.read.values:
            return self.read.values[ref.key]
        if ref.key in self.read.missing:
            raise KeyError(f"the output of step {step_id!r} is no longer in the object store")
        raise BlobsNeeded((ref,))


def _outputs(outputs: Mapping[str, JsonValue] | StepOutputs) -> StepOutputs:
    return outputs if isinstance(outputs, StepOutputs) else StepOutputs(inline=outputs)


def lookup(
    outputs: Mapping[str, JsonValue] | StepOutputs, step_id: str, path: tuple[str, ...]
) -> JsonValue:
    """The value at `path` inside `step_id`'s output; `KeyError` when any part is missing."""
    value = _outputs(outputs).value(step_id)
    walked = ["output"]
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and _INDEX.match(part) and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(f"steps.{step_id}.{'.'.join(walked)} has no {part!r}")
        walked.append(part)
    return value


def render_text(value: JsonValue) -> str:
    """How a referenced value reads inside a longer string."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def resolve_value(value: JsonValue, outputs: Mapping[str, JsonValue] | StepOutputs) -> JsonValue:
    """`value` with every reference replaced; raises `KeyError` naming the first missing one."""
    if isinstance(value, str):
        whole = REFERENCE_PATTERN.fullmatch(value)
        if whole is not None:
            return lookup(outputs, whole.group("step"), _path(whole))
        return REFERENCE_PATTERN.sub(
            lambda m: render_text(lookup(outputs, m.group("step"), _path(m))), value
        )
    if isinstance(value, list):
        return [resolve_value(item, outputs) for item in value]
    if isinstance(value, dict):
        return {key: resolve_value(item, outputs) for key, item in value.items()}
    return value


def resolve_input(
    step_input: Mapping[str, JsonValue],
    outputs: Mapping[str, JsonValue] | StepOutputs,
    *,
    run_id: str,
    step_id: str,
) -> dict[str, JsonValue]:
    """A step's input ready to dispatch; raises `UnresolvedReference` for a missing path."""
    try:
        return {key: resolve_value(value, outputs) for key, value in step_input.items()}
    except KeyError as exc:
        raise UnresolvedReference(
            f"input of step {step_id!r} does not resolve: {exc.args[0]}",
            run_id=run_id,
            step_id=step_id,
        ) from exc


def _path(match: re.Match[str]) -> tuple[str, ...]:
    return tuple(part for part in match.group("path").split(".") if part)
