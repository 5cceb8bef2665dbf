"""What a tool is, the context it runs in, and the registry the adapter looks tools up in.

A tool may also say which `version` of its contract it implements (semantic versioning,
default 1.0.0) and describe its result with an `output_schema`; the registry turns every
tool into a `ToolSpec` for the catalogue (KV `pulse_tools`, `GET /v1/tools`).

A tool that never waits and does only a little pure computation (the calculator) may say
`inline = True`: the adapter then runs it in the message's own task, without the task,
heartbeat and cancel bookkeeping a long call needs (`ToolRegistry.runs_inline`).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from pulse_contracts import JsonValue, ToolFailed, ToolNotFound, ToolSpec, Usage

__all__ = [
    "DEFAULT_TOOL_VERSION",
    "Tool",
    "ToolContext",
    "ToolRegistry",
    "parse_input",
    "runs_inline",
    "tool_spec",
]

DEFAULT_TOOL_VERSION = "1.0.0"

InputModel = TypeVar("InputModel", bound=BaseModel)


@dataclass
class ToolContext:
    """Which run, step and tenant a tool call works for; collects the call's LLM usage."""

    run_id: str
    step_id: str
    tenant: str
    usage: Usage = field(default_factory=Usage)
    warnings: list[str] = field(default_factory=list)
    timeout_s: float | None = None
    """The step's own time limit, so a tool can fit its calls inside it."""
    agent: str | None = None
    """`provider/model` of the first LLM call the tool made (None: it made none)."""

    def add_usage(self, usage: Usage) -> None:
        self.usage = self.usage + usage

    def warn(self, warning: str) -> None:
        if warning not in self.warnings:
            self.warnings.append(warning)

    def failure(self, message: str) -> ToolFailed:
        """A `ToolFailed` that says which run and step it belongs to."""
        return ToolFailed(message, run_id=self.run_id, step_id=self.step_id)


class Tool(Protocol):
    """One capability a plan step can name.

    A tool that rejects its input or cannot do its job raises `ToolFailed`: that is a
    result, reported to the executor. Any other exception means the outside world is
    broken (a store unreachable) and the task is tried again later.
    """

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        """JSON Schema of the tool's input object."""
        ...

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue: ...


def runs_inline(tool: Tool) -> bool:
    """True if `tool` says it is cheap enough to run inline (`inline = True`; default no)."""
    return getattr(tool, "inline", False) is True


def tool_spec(tool: Tool) -> ToolSpec:
    """The catalogue entry of `tool`; `version` and `output_schema` are optional on a tool."""
    version = getattr(tool, "version", DEFAULT_TOOL_VERSION)
    output_schema = getattr(tool, "output_schema", {})
    return ToolSpec(
        name=tool.name,
        version=str(version),
        description=tool.description,
        input_schema=tool.input_schema,
        output_schema=dict(output_schema),
    )


def parse_input(
    model: type[InputModel], input: dict[str, JsonValue], ctx: ToolContext
) -> InputModel:
    """Validate a tool's input against its model; a mismatch is the tool rejecting it."""
    try:
        return model.model_validate(input)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ctx.failure(f"invalid input: {problems}") from None


class ToolRegistry:
    """Tools by name. Names are unique: registering a second tool under a name is a bug."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str, *, run_id: str | None = None, step_id: str | None = None) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(sorted(self._tools)) or "none"
            raise ToolNotFound(
                f"no tool named {name!r} (known: {known})", run_id=run_id, step_id=step_id
            ) from None

    def runs_inline(self, name: str) -> bool:
        """Whether the tool called `name` may run in the caller's task (see the module).
        An unknown name too: the answer is an immediate `tool_not_found`."""
        tool = self._tools.get(name)
        return tool is None or runs_inline(tool)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def list(self) -> builtins.list[Tool]:
        """Every registered tool, sorted by name."""
        return [self._tools[name] for name in sorted(self._tools)]

    def specs(self) -> builtins.list[ToolSpec]:
        """The catalogue: every tool's `ToolSpec`, sorted by name."""
        return [tool_spec(tool) for tool in self.list()]
