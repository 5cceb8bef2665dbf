"""Per-tool call, latency and error metrics, by wrapping each registered tool.

`pulse_tool_calls_total{tool,outcome}` (succeeded, failed, error), `pulse_tool_errors_total
{tool,code}` and `pulse_tool_call_seconds{tool}` — measured around the tool itself, so they
hold for tools from plugins as for built-in ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from pulse_agent_adapter.domain.tools import DEFAULT_TOOL_VERSION, Tool, ToolContext, runs_inline
from pulse_contracts import JsonValue, PulseError

__all__ = ["MeteredTool", "ToolMetrics"]


@dataclass(frozen=True)
class ToolMetrics:
    calls: Counter
    errors: Counter
    seconds: Histogram

    @classmethod
    def on(cls, registry: CollectorRegistry) -> ToolMetrics:
        return cls(
            calls=Counter(
                "pulse_tool_calls_total",
                "Tool calls by tool and outcome (succeeded, failed: the tool refused or "
                "failed, error: infrastructure, retried later).",
                ("tool", "outcome"),
                registry=registry,
            ),
            errors=Counter(
                "pulse_tool_errors_total",
                "Failed tool calls by tool and error code.",
                ("tool", "code"),
                registry=registry,
            ),
            seconds=Histogram(
                "pulse_tool_call_seconds",
                "Time inside the tool, by tool.",
                ("tool",),
                buckets=(0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
                registry=registry,
            ),
        )


class MeteredTool:
    """`tool` with its calls counted and timed; everything else passes through."""

    def __init__(self, tool: Tool, metrics: ToolMetrics) -> None:
        self.inner = tool
        self._metrics = metrics
        # Labelled series looked up once each, on first use (so /metrics shows only the
        # series that happened): `labels()` per call costs more than a cheap tool's run.
        self._seconds: Histogram | None = None
        self._calls: dict[str, Counter] = {}

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def version(self) -> str:
        return str(getattr(self.inner, "version", DEFAULT_TOOL_VERSION))

    @property
    def output_schema(self) -> dict[str, JsonValue]:
        return dict(getattr(self.inner, "output_schema", {}))

    @property
    def input_schema(self) -> dict[str, JsonValue]:
        return self.inner.input_schema

    @property
    def inline(self) -> bool:
        return runs_inline(self.inner)

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self.inner.run(input, ctx)
            outcome = "succeeded"
            return result
        except PulseError as exc:
            outcome = "failed"
            self._metrics.errors.labels(self.name, exc.code.value).inc()
            raise
        except Exception:
            self._metrics.errors.labels(self.name, "infrastructure").inc()
            raise
        finally:
            self._count(outcome)
            self._observe(time.perf_counter() - started)

    def _count(self, outcome: str) -> None:
        calls = self._calls.get(outcome)
        if calls is None:
            calls = self._calls[outcome] = self._metrics.calls.labels(self.name, outcome)
        calls.inc()

    def _observe(self, seconds: float) -> None:
        if self._seconds is None:
            self._seconds = self._metrics.seconds.labels(self.name)
        self._seconds.observe(seconds)
