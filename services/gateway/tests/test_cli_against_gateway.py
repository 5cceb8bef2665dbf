"""The `pulse` command and `PulseClient` against a served gateway (in-memory backends)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from pulse_client import PulseApiError, PulseClient
from pulse_client.cli import main
from pulse_contracts import RunEvent, RunStatus, ToolSpec
from pulse_gateway import Settings, create_app
from pulse_gateway.adapters import (
    InMemoryRunArchive,
    InMemoryRunEvents,
    InMemoryRunPublisher,
    InMemoryRunStore,
)
from pulse_gateway.domain import new_run_id
from pulse_gateway.wiring import Backends, in_memory_backends
from pulse_telemetry import setup_telemetry

KEY = "cli-key"
Serve = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


@pytest.fixture
def backends() -> Backends:
    settings = Settings(api_keys={KEY: "tenant-c"})
    backends = in_memory_backends(settings, InMemoryRunStore(), InMemoryRunPublisher())
    backends.tools.specs.append(ToolSpec(name="calculator", description="Evaluates arithmetic."))  # type: ignore[attr-defined]
    return backends


def _app(backends: Backends) -> FastAPI:
    settings = Settings(api_keys={KEY: "tenant-c"}, log_format="text", stream_heartbeat_s=0.5)
    return create_app(
        settings, telemetry=setup_telemetry(settings, install_global=False), backends=backends
    )


async def _pulse(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, ["--url", url, "--key", KEY, *argv])
    out, err = capsys.readouterr()
    return code, out, err


async def test_pulse_run_shows_live_progress_then_the_result(
    backends: Backends,
    serve: Serve,
    capsys: pytest.CaptureFixture[str],
    history_of: Callable[[str, str], list[RunEvent]],
) -> None:
    store = backends.store
    events = backends.events
    assert isinstance(store, InMemoryRunStore)
    assert isinstance(events, InMemoryRunEvents)
    run_id = new_run_id("tenant-c", "cli-run-1")
    async with serve(_app(backends)) as live:
        running = asyncio.create_task(
            _pulse(capsys, live.url, "run", "calculate 6*7", "--idempotency-key", "cli-run-1")
        )
        deadline = asyncio.get_running_loop().time() + 20
        while run_id not in store.runs or events.followers == 0:
            assert asyncio.get_running_loop().time() < deadline, "the CLI never followed the run"
            await asyncio.sleep(0.05)
        for event in history_of(run_id, "tenant-c"):
            if event.type == "run.completed":
                state = store.runs[run_id]
                state.status, state.result, state.seq = RunStatus.COMPLETED, 42, 4
            await events.publish(event)
        code, out, err = await asyncio.wait_for(running, 30)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"run {run_id} submitted")
    assert any("planned: 1 steps" in line for line in lines)
    assert any("calculator" in line and "started" in line for line in lines)
    assert any("done" in line and "-> 42" in line and "7 tok $0.001000" in line for line in lines)
    assert any("run completed: 1/1 steps, 3+4 tokens, $0.001000" in line for line in lines)
    assert "status=completed" in out


async def test_every_command_answers_in_text_and_json(
    backends: Backends, serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(_app(backends)) as live:
        url = live.url
        code, out, _ = await _pulse(capsys, url, "run", "calculate 1 + 1", "--detach")
        assert code == 0
        run_id = out.strip()
        code, out, _ = await _pulse(capsys, url, "--json", "run", "calculate 2 + 2", "--detach")
        second = json.loads(out)["run_id"]

        code, out, _ = await _pulse(capsys, url, "runs")
        assert code == 0
        assert out.index(second) < out.index(run_id)  # newest first
        code, out, _ = await _pulse(capsys, url, "runs", "--json", "--limit", "1")
        page = json.loads(out)
        assert [r["run_id"] for r in page["runs"]] == [second]
        code, out, _ = await _pulse(capsys, url, "runs", "--json", "--cursor", page["next_cursor"])
        assert [r["run_id"] for r in json.loads(out)["runs"]] == [run_id]
        code, out, _ = await _pulse(capsys, url, "runs", "--json", "--status", "completed")
        assert json.loads(out)["runs"] == []
        code, out, _ = await _pulse(capsys, url, "runs", "--search", "2 + 2")
        assert second in out
        assert run_id not in out

        code, out, _ = await _pulse(capsys, url, "show", run_id)
        assert code == 0
        assert "calculate 1 + 1" in out
        code, out, _ = await _pulse(capsys, url, "cancel", run_id)
        assert code == 0
        assert f"cancel requested for run {run_id}" in out
        code, _, err = await _pulse(capsys, url, "restart", run_id)
        assert code == 2
        assert "409" in err

        code, out, _ = await _pulse(capsys, url, "tools")
        assert "calculator" in out
        assert "Evaluates arithmetic." in out
        code, out, _ = await _pulse(capsys, url, "tools", "--json")
        assert json.loads(out)[0]["name"] == "calculator"
        code, out, _ = await _pulse(capsys, url, "status", "--json")
        assert code == 1
        assert json.loads(out)["status"] == "degraded"
        code, out, _ = await _pulse(capsys, url, "usage")
        assert code == 0
        assert "tenant tenant-c: 2 runs" in out
        code, _, err = await _pulse(capsys, url, "show", "no-such-run")
        assert code == 2
        assert "404" in err
        code, _, err = (
            await asyncio.to_thread(main, ["--url", url, "--key", "wrong", "runs"]),
            *capsys.readouterr(),
        )
        assert code == 2
        assert "401" in err


async def test_the_client_iterates_pages_and_reports_problems(
    backends: Backends, serve: Serve
) -> None:
    async with serve(_app(backends)) as live, PulseClient(live.url, KEY) as client:
        made = [(await client.create_run(f"calculate {n}"))["run_id"] for n in range(5)]
        listed = [run["run_id"] async for run in client.iter_runs(page_size=2)]
        assert listed == list(reversed(made))
        with pytest.raises(PulseApiError) as refused:
            await client.create_run("   ")
        assert refused.value.status == 422
        assert refused.value.problem["errors"]


async def test_pulse_trace_draws_the_archived_run_as_text_json_and_html(
    backends: Backends,
    serve: Serve,
    capsys: pytest.CaptureFixture[str],
    history_of: Callable[[str, str], list[RunEvent]],
    tmp_path: Path,
) -> None:
    archive = backends.archive
    assert isinstance(archive, InMemoryRunArchive)
    archive.events["run-tr"] = history_of("run-tr", "tenant-c")
    page = tmp_path / "run.html"
    async with serve(_app(backends)) as live:
        url = live.url
        code, out, _ = await _pulse(capsys, url, "trace", "run-tr", "--width", "100")
        assert code == 0
        lines = out.splitlines()
        assert lines[0].startswith("run run-tr  COMPLETED")
        [row] = [line for line in lines if line.startswith("s1 calculator")]
        assert row.split()[2:4] == ["default", "1"]
        assert "7" in row.split()
        assert max(len(line) for line in lines) <= 100

        code, out, _ = await _pulse(capsys, url, "trace", "run-tr", "--json")
        body = json.loads(out)
        assert (body["run_id"], body["status"], body["source"]) == (
            "run-tr",
            "completed",
            "archive",
        )
        assert [a["attempt"] for a in body["steps"][0]["attempts"]] == [1]

        code, _, err = await _pulse(
            capsys, url, "trace", "run-tr", "--html", str(page), "--wait", "5"
        )
        assert code == 0
        assert str(page) in err
        assert "<code>s1</code>" in page.read_text(encoding="utf-8")

        code, _, err = await _pulse(capsys, url, "trace", "no-such-run")
        assert code == 2
        assert "404" in err
