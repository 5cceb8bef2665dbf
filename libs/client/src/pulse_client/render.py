"""Turning a run into lines for a terminal."""

from __future__ import annotations

import json
from typing import cast

from pulse_client.client import RunView
from pulse_contracts import JsonValue

__all__ = ["render_progress", "render_run", "short"]

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
