"""Turning a run into lines for a terminal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

from pulse_client.client import RunView
from pulse_contracts import JsonValue

__all__ = ["render_progress", "render_run", "render_runs", "render_status", "render_tools", "short"]

_MARKS = {"completed": "done", "failed": "FAILED", "dispatched": "running", "skipped": "skipped"}


def short(value: JsonValue, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _steps(run: RunView) -> list[dict[str, JsonValue]]:
    return cast(list[dict[str, JsonValue]], run.get("steps") or [])


def render_progress(run: RunView, seen: dict[str, str]) -> list[str]:
    """Lines for what changed since `seen` (step id -> last status), updating `seen`."""
    lines: list[str] = []
    key = "__run__"
    if seen.get(key) != run["status"]:
        seen[key] = str(run["status"])
        lines.append(f"  run {run['run_id']}: {run['status']}")
    for step in _steps(run):
        sid, status = str(step["step_id"]), str(step["status"])
        if seen.get(sid) == status or status == "pending":
            continue
        seen[sid] = status
        detail = ""
        if status == "completed":
            ms = step.get("duration_ms")
            detail = f" -> {short(step.get('output'))}" + (
                f"  ({float(cast(float, ms)):.0f} ms)" if ms is not None else ""
            )
        elif status == "failed":
            detail = f" -> {short(step.get('error'))}"
        lines.append(f"    {sid} {step['tool']:<14} {_MARKS.get(status, status)}{detail}")
    return lines


def render_run(run: RunView) -> str:
    usage = cast(dict[str, JsonValue], run.get("usage") or {})
    out = [
        f"run {run['run_id']}  status={run['status']}  trace_id={run.get('trace_id')}",
        f"  goal: {run.get('prompt')}",
    ]
    for step in _steps(run):
        ms = step.get("duration_ms")
        timing = f"{float(cast(float, ms)):7.0f} ms" if ms is not None else "       - "
        value = step.get("output") if step["status"] == "completed" else step.get("error")
        out.append(
            f"  {step['step_id']:<4} {step['tool']:<14} {step['status']:<10} {timing}  {short(value, 70)}"
        )
    if run.get("error"):
        out.append(f"  error: {short(run['error'], 200)}")
    out.append(f"  result: {short(run.get('result'), 200)}")
    out.append(
        "  usage: {} prompt + {} completion tokens, ${:.6f}".format(
            usage.get("prompt_tokens", 0),
            usage.get("completion_tokens", 0),
            float(cast(float, usage.get("cost_usd", 0.0))),
        )
    )
    return "\n".join(out)


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell; the last column is left as long as it is."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


def render_runs(runs: list[RunView], next_cursor: str | None) -> str:
    if not runs:
        return "no runs"
    rows = [("RUN", "STATUS", "CREATED (UTC)", "TOKENS", "COST", "GOAL")]
    for run in runs:
        usage = cast(dict[str, JsonValue], run.get("usage") or {})
        tokens = int(cast(int, usage.get("prompt_tokens", 0))) + int(
            cast(int, usage.get("completion_tokens", 0))
        )
        created = str(run.get("created_at", ""))[:19].replace("T", " ")
        rows.append(
            (
                str(run["run_id"]),
                str(run["status"]),
                created,
                str(tokens),
                f"${float(cast(float, usage.get('cost_usd', 0.0))):.6f}",
                short(run.get("prompt"), 60),
            )
        )
    more = f"\n(more: pulse runs --cursor {next_cursor})" if next_cursor else ""
    return "\n".join(_table(rows)) + more


def render_tools(tools: list[RunView]) -> str:
    if not tools:
        return "no tools published yet (is an agent-adapter running?)"
    rows = [("TOOL", "VERSION", "DESCRIPTION")]
    rows += [
        (str(t["name"]), str(t.get("version", "")), short(t.get("description"), 70)) for t in tools
    ]
    return "\n".join(_table(rows))


def render_status(status: RunView) -> str:
    deps = cast(dict[str, JsonValue], status.get("dependencies") or {})
    lines = [
        f"pulse is {status.get('status')}  "
        + "  ".join(f"{name}={'up' if ok else 'DOWN'}" for name, ok in sorted(deps.items()))
    ]
    rows = [("COMPONENT", "CONSUMER", "HEALTH", "PENDING", "IN FLIGHT", "WAITING PULLS")]
    for component in cast(list[dict[str, JsonValue]], status.get("components") or []):
        for consumer in cast(list[dict[str, JsonValue]], component.get("consumers") or []):
            rows.append(
                (
                    str(component["name"]),
                    str(consumer["durable"]),
                    str(consumer["health"]),
                    str(consumer["num_pending"]),
                    str(consumer["num_ack_pending"]),
                    str(consumer["num_waiting"]),
                )
            )
    if len(rows) > 1:
        lines += _table(rows)
    return "\n".join(lines)
