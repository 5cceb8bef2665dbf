"""`pulse trace` against the whole stack: real runs, archived by the archiver in PostgreSQL,
read back through the gateway's timeline route and drawn by the CLI (and by the demo)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pulse_client import PulseClient
from pulse_client.cli import main
from pulse_stack.demo import SAMPLE_GOALS, run_demo
from pulse_stack.launcher import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres]

KEY = "e2e-key-a"
GOAL = "calculate 12 * 7 and calculate 100 / 4, then add both results as todos, then list all todos"
LLM_GOAL = "calculate 6 * 7, then ask the llm to explain the result"


async def _pulse(
    capsys: pytest.CaptureFixture[str], stack: Stack, *argv: str
) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, ["--url", stack.gateway_url, "--key", KEY, *argv])
    out, err = capsys.readouterr()
    return code, out, err


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data.strip())


async def _finished(stack: Stack) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with PulseClient(stack.gateway_url, KEY) as client:
        created = await asyncio.gather(client.create_run(GOAL), client.create_run(LLM_GOAL))
        runs = await asyncio.gather(*(client.wait(str(c["run_id"]), timeout_s=90) for c in created))
    return list(created), list(runs)


async def test_pulse_trace_shows_every_attempt_of_real_runs_from_the_archive(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    created, runs = await _finished(stack)
    assert [r["status"] for r in runs] == ["completed", "completed"], runs
    run, llm_run = runs
    run_id = str(run["run_id"])

    # --json, once the archive holds the whole run: the same steps, attempts and trace.
    code, out, err = await _pulse(capsys, stack, "trace", run_id, "--wait", "30", "--json")
    assert code == 0, err
    timeline = json.loads(out)
    assert (timeline["run_id"], timeline["status"], timeline["source"]) == (
        run_id,
        "completed",
        "archive",
    )
    assert timeline["trace_id"] == created[0]["trace_id"] == run["trace_id"]
    assert timeline["usage"] == run["usage"]
    assert [(s["step_id"], s["tool"]) for s in timeline["steps"]] == [
        (s["step_id"], s["tool"]) for s in run["steps"]
    ]
    assert len(timeline["steps"]) >= 4
    for step in timeline["steps"]:
        [attempt] = step["attempts"]
        assert (attempt["attempt"], attempt["status"], attempt["agent"]) == (
            1,
            "completed",
            "default",
        )
        dispatched, started, finished = (
            datetime.fromisoformat(attempt[k])
            for k in ("dispatched_at", "started_at", "finished_at")
        )
        assert dispatched <= started <= finished
        assert attempt["queue_wait_ms"] >= 0
        assert attempt["duration_ms"] >= 0
        assert attempt["error"] is None
    assert timeline["duration_ms"] > 0

    # The terminal waterfall: one row per attempt, the trace id to paste.
    code, out, err = await _pulse(capsys, stack, "trace", run_id, "--width", "120")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"run {run_id}  COMPLETED")
    assert f"trace: paste into Jaeger/Tempo: {run['trace_id']}" in lines
    for step in run["steps"]:
        [row] = [line for line in lines if line.startswith(f"{step['step_id']} {step['tool']} ")]
        assert row.split()[2:4] == ["default", "1"]
        assert "█" in row
    assert max(len(line) for line in lines) <= 120
    assert "\x1b" not in out  # not a terminal: no colour

    # The LLM step names the provider and model that answered, and its tokens.
    code, out, err = await _pulse(
        capsys, stack, "trace", str(llm_run["run_id"]), "--wait", "30", "--json"
    )
    assert code == 0, err
    llm_steps = {s["tool"]: s for s in json.loads(out)["steps"]}
    [llm_attempt] = llm_steps["llm.complete"]["attempts"]
    assert llm_attempt["agent"].startswith("offline/")
    assert llm_attempt["usage"]["completion_tokens"] > 0

    # --html: one parseable, self-contained page with every step.
    page_file = tmp_path / "trace.html"
    code, _, err = await _pulse(capsys, stack, "trace", run_id, "--html", str(page_file))
    assert code == 0, err
    page = _Page()
    page.feed(page_file.read_text(encoding="utf-8"))
    page.close()
    assert "script" not in page.tags
    for step in run["steps"]:
        assert step["step_id"] in page.text
    assert run["trace_id"] in page.text


async def test_the_demo_ends_with_the_waterfall_of_each_run(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = await run_demo(stack.gateway_url, KEY, str(stack.nats_url), goals=SAMPLE_GOALS[:1])
    out = capsys.readouterr().out
    assert ok, out
    waterfalls = out[out.index("waterfalls (from the archive") :]
    assert "COMPLETED" in waterfalls
    assert "trace: paste into Jaeger/Tempo: " in waterfalls
    for row in ("s1 calculator", "s2 todo.add", "s3 todo.list"):
        assert row in waterfalls
