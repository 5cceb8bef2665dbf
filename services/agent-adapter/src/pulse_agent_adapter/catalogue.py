"""The tool catalogue in KV `pulse_tools`: one `ToolSpec` per tool name, written at start.

The planner validates plans against it and the gateway lists it at `GET /v1/tools`. Each
replica writes the specs of the tools it runs; an unchanged spec is not written again, so
restarts and replicas do not churn the bucket.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from nats.js.kv import KeyValue

from pulse_broker import TypedKv
from pulse_contracts import ToolSpec

__all__ = ["publish_catalogue"]

log = logging.getLogger("pulse.agent_adapter")


async def publish_catalogue(kv: KeyValue, specs: Sequence[ToolSpec]) -> list[str]:
    """Write every spec that differs from the stored one; return the names written."""
    docs = TypedKv(kv, ToolSpec)
    written: list[str] = []
    for spec in specs:
        current = await docs.get(spec.name)
        if current is not None and current.value == spec:
            continue
        await docs.put(spec.name, spec)
        written.append(spec.name)
    log.info("tool catalogue: %d tools, %d changed", len(specs), len(written))
    return written
