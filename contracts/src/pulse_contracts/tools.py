"""The tool catalogue: what each tool is called, what it takes and what it returns.

The agent-adapter publishes one `ToolSpec` per tool into the `pulse_tools` KV bucket at
start; the planner validates plans against it and the gateway lists it at `GET /v1/tools`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, JsonValue

__all__ = ["ToolSpec"]


def _any_object() -> dict[str, JsonValue]:
    return {"type": "object"}


class ToolSpec(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")
    version: str = Field(default="1.0.0", description="Semantic version of the tool's contract.")
    description: str = ""
    input_schema: dict[str, JsonValue] = Field(
        default_factory=_any_object,
        description="JSON Schema of the step input the tool accepts.",
    )
    output_schema: dict[str, JsonValue] = Field(
        default_factory=dict, description="JSON Schema of what the tool returns."
    )
