"""Tools from other packages, found through the `pulse.tools` entry-point group.

A package adds tools by declaring, in its pyproject.toml:

```toml
[project.entry-points."pulse.tools"]
weather = "my_package.tools:WeatherTool"
```

The entry point names a `Tool` instance, or a class or factory called with no arguments
that returns one. A plugin that fails to load is logged and skipped: one broken package
must not keep the built-in tools from serving.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Final

from pulse_agent_adapter.domain.tools import Tool

__all__ = ["ENTRY_POINT_GROUP", "load_plugin_tools"]

log = logging.getLogger("pulse.agent_adapter")

ENTRY_POINT_GROUP: Final = "pulse.tools"


def _is_tool(candidate: object) -> bool:
    return all(hasattr(candidate, a) for a in ("name", "description", "input_schema", "run"))


def load_plugin_tools(points: Iterable[EntryPoint] | None = None) -> list[Tool]:
    found = points if points is not None else entry_points(group=ENTRY_POINT_GROUP)
    tools: list[Tool] = []
    for point in found:
        try:
            loaded = point.load()
            tool = loaded if _is_tool(loaded) and not isinstance(loaded, type) else loaded()
            if not _is_tool(tool):
                raise TypeError(f"{point.value} is not a tool (needs name, description, ...)")
        except Exception as exc:
            log.error("tool plugin %s (%s) not loaded: %s", point.name, point.value, exc)
            continue
        log.info("tool plugin %s: %s", point.name, tool.name)
        tools.append(tool)
    return tools
