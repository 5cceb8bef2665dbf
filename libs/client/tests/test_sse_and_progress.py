"""The SSE reader and the live progress lines of `pulse run` (pure)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from pulse_client.progress import Progress
from pulse_client.sse import ServerSentEvent, parse_sse
from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    Plan,
    PlanStep,
    RunCompleted,
    RunStarted,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    Usage,
)


async def _lines(text: str) -> AsyncIterator[str]:
    for line in text.split("\n"):
        yield line


async def _parse(text: str) -> list[ServerSentEvent]:
    return [event async for event in parse_sse(_lines(text))]


async def test_events_comments_multiline_data_and_ids() -> None:
    stream = (
        ": run r1\n\n"
        'id: 1\nevent: run.started\ndata: {"a":1}\n\n'
        ": heartbeat\n\n"
        "data: first\ndata: second\n\n"
        "id: 3\nevent: x\n\n"  # no data: not dispatched
        "id: 4\r\nevent: run.completed\r\ndata:{}\r\n"  # CRLF, no space, no final blank line
    )
    assert await _parse(stream) == [
        ServerSentEvent("run.started", '{"a":1}', "1"),
        ServerSentEvent("message", "first\nsecond", "1"),
        ServerSentEvent("run.completed", "{}", "4"),
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_track_steps_tokens_cost_and_time() -> None:
    clock = Clock()
    progress = Progress(clock=clock)
    t = datetime(2025, 1, 1, tzinfo=UTC)
    plan = Plan(
        steps=[PlanStep(id="s1", tool="llm.complete"), PlanStep(id="s2", tool="calculator")]
    )
    common = {"run_id": "r", "tenant": "t"}
    usage = Usage(prompt_tokens=10, completion_tokens=20, cost_usd=0.0003)
    lines = [
        progress.line(
            RunStarted(message_id="1", seq=1, prompt="p", plan=plan, planner="rule-based", **common)
        ),
        progress.line(
            StepDispatched(
                message_id="2",
                seq=2,
                step_id="s1",
                attempt=1,
                tool="llm.complete",
                input={},
                **common,
            )
        ),
    ]
    clock.now = 100.25
    lines.append(
        progress.line(
            StepCompleted(
                message_id="3",
                seq=3,
                step_id="s1",
                attempt=1,
                tool="llm.complete",
                output="hello",
                usage=usage,
                started_at=t,
                finished_at=t + timedelta(milliseconds=200),
                **common,
            )
        )
    )
    error = ErrorInfo(code=ErrorCode.TOOL_FAILED, message="division by zero")
    lines.append(
        progress.line(
            StepFailedEvent(
                message_id="4",
                seq=4,
                step_id="s2",
                attempt=1,
                tool="calculator",
                error=error,
                started_at=t,
                finished_at=t,
                retry_at=t,
                **common,
            )
        )
    )
    clock.now = 101.5
    lines.append(
        progress.line(RunCompleted(message_id="5", seq=5, result="hello", usage=usage, **common))
    )
    text = "\n".join(str(line) for line in lines)
    assert "planned: 2 steps (rule-based)" in lines[0]
    assert "s1" in lines[1]
    assert "started" in lines[1]
    assert "done" in lines[2]
    assert "200 ms" in lines[2]
    assert "30 tok $0.000300" in lines[2]
    assert "+  0.25s" in lines[2]
    assert "FAILED (will retry)" in lines[3]
    assert "division by zero" in lines[3]
    assert lines[4].endswith("run completed: 1/2 steps, 10+20 tokens, $0.000300, 1.50 s")
    assert "None" not in text
