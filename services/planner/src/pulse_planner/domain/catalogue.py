"""The tool catalogue as the LLM planner sees it: `ToolSpec`s with JSON Schemas.

It renders itself for the prompt, has a version (a digest of every tool's name, version
and input schema — a plan cached under one version is never served under another) and
checks a step's input against its tool's input schema. A value that contains a step
reference passes whatever the schema says: what it stands for is only known at run time,
and the executor substitutes it then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import JsonValue

from pulse_contracts import REFERENCE_PATTERN, ToolSpec
from pulse_planner.domain.tools import KNOWN_TOOLS

__all__ = ["SchemaCatalogue", "builtin_catalogue"]

_JSON_TYPES: Final[Mapping[type, str]] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    dict: "object",
}


def _location(path: Iterable[str | int]) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "input" + "".join(parts)


def _holds_reference(value: object) -> bool:
    return isinstance(value, str) and REFERENCE_PATTERN.search(value) is not None


class SchemaCatalogue:
    def __init__(self, specs: Iterable[ToolSpec]) -> None:
        tools = {spec.name: spec for spec in specs}
        self._tools: Mapping[str, ToolSpec] = MappingProxyType(tools)
        self._validators: dict[str, Draft202012Validator | str] = {}
        canonical = json.dumps(
            [[s.name, s.version, s.input_schema] for s in sorted(tools.values(), key=_name)],
            sort_keys=True,
            separators=(",", ":"),
        )
        self.version: Final = hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [self._tools[name] for name in self.names()]

    def render(self) -> str:
        """The catalogue as a JSON document for the prompt (data, escaped by the encoder)."""
        return json.dumps(
            [
                {
                    "name": spec.name,
                    "description": spec.description,
                    "input_schema": spec.input_schema,
                }
                for spec in self.specs()
            ],
            indent=1,
            sort_keys=True,
        )

    def input_errors(self, tool: str, step_input: Mapping[str, JsonValue]) -> list[str]:
        """What is wrong with `step_input` for `tool`, one sentence per problem."""
        validator = self._validator(tool)
        if isinstance(validator, str):
            return [validator]
        errors: list[str] = []
        for error in sorted(validator.iter_errors(dict(step_input)), key=lambda e: e.path):
            if _holds_reference(error.instance):
                continue
            errors.append(f"{_location(error.absolute_path)}: {error.message}")
        return errors

    def _validator(self, tool: str) -> Draft202012Validator | str:
        found = self._validators.get(tool)
        if found is None:
            spec = self._tools[tool]
            try:
                Draft202012Validator.check_schema(spec.input_schema)
                found = Draft202012Validator(spec.input_schema)
            except SchemaError as exc:
                # A broken schema in the catalogue is not the LLM's fault, but no input can
                # be checked against it, so no plan may use the tool.
                found = f"tool {tool!r} has an invalid input schema: {exc.message}"
            self._validators[tool] = found
        return found


def _name(spec: ToolSpec) -> str:
    return spec.name


def builtin_catalogue() -> SchemaCatalogue:
    """The rule-based planner's table as `ToolSpec`s: the catalogue used until the
    agent-adapter has published one, so the LLM path works on a bare bus too."""
    specs = []
    for name, summary, inputs in KNOWN_TOOLS.describe():
        specs.append(
            ToolSpec(
                name=name,
                description=summary,
                input_schema={
                    "type": "object",
                    "properties": {field: {"type": _JSON_TYPES[kind]} for field, kind in inputs},
                    "required": [field for field, _ in inputs],
                    "additionalProperties": False,
                },
            )
        )
    return SchemaCatalogue(specs)
