"""Resolving `{{steps.<id>.output[.path]}}` references in a step's input.

A value that is exactly one reference becomes the referenced value with its JSON type; a
reference inside a longer string becomes its text (a string as-is, anything else as
compact JSON). A path walks dict keys and list indices.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from pulse_contracts import REFERENCE_PATTERN, JsonValue, UnresolvedReference

__all__ = ["lookup", "render_text", "resolve_input", "resolve_value"]

_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


def lookup(outputs: Mapping[str, JsonValue], step_id: str, path: tuple[str, ...]) -> JsonValue:
    """The value at `path` inside `step_id`'s output; `KeyError` when any part is missing."""
    if step_id not in outputs:
        raise KeyError(f"step {step_id!r} has no output")
    value = outputs[step_id]
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


def resolve_value(value: JsonValue, outputs: Mapping[str, JsonValue]) -> JsonValue:
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
    outputs: Mapping[str, JsonValue],
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
