"""`pulse trace`'s waterfall in a terminal and as HTML, from a typed timeline (no server)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from pulse_client import Timeline, render_waterfall, render_waterfall_html
from pulse_client.waterfall import QUEUE, RUNNING, WORK, clean

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TRACE = "0af7651916cd43dd8448eb211c80319c"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
HOSTILE = "<script>alert('x')</script>\x1b[2J\r\nrm -rf"


def at(ms: float) -> str:
    return (T0 + timedelta(milliseconds=ms)).isoformat()


def attempt(
    step: str,
    n: int,
    status: str,
    dispatched: float | None,
    start: float | None,
    end: float | None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "step_id": step,
        "tool": extra.pop("tool", "calculator"),
        "attempt": n,
        "agent": extra.pop("agent", "default"),
        "status": status,
        "dispatched_at": None if dispatched is None else at(dispatched),
        "started_at": None if start is None else at(start),
        "finished_at": None if end is None else at(end),
        **extra,
    }


def timeline(**changes: Any) -> Timeline:
    """s1 retried once, s2 an LLM step, s3 after a restart, s4 never ran."""
    timed_out = {"code": "timed_out", "message": "no answer in 1s", "retryable": True}
    body: dict[str, Any] = {
        "run_id": "run-1",
        "status": "completed",
        "prompt": "calculate 6 * 7, then ask the llm to explain the result",
        "trace_id": TRACE,
        "created_at": at(0),
        "finished_at": at(1000),
        "duration_ms": 1000.0,
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "cost_usd": 0.00042},
        "restarts": 1,
        "restart_history": [{"restarts": 1, "at": at(600), "reason": "flaky", "steps": ["s3"]}],
        "steps": [
            {
                "step_id": "s1",
                "tool": "calculator",
                "status": "completed",
                "attempts": [
                    attempt("s1", 1, "retried", 0, 100, 200, error=timed_out, retry_at=at(250)),
                    attempt("s1", 2, "completed", 250, 300, 400),
                ],
            },
            {
                "step_id": "s2",
                "tool": "llm.complete",
                "status": "completed",
                "attempts": [
                    attempt(
                        "s2",
                        1,
                        "completed",
                        0,
                        200,
                        500,
                        tool="llm.complete",
                        agent="offline/offline-echo",
                        usage={"prompt_tokens": 30, "completion_tokens": 12, "cost_usd": 0.00042},
                    )
                ],
            },
            {
                "step_id": "s3",
                "tool": "todo.add",
                "status": "completed",
                "attempts": [attempt("s3", 1, "completed", 650, 700, 1000, restart=1)],
            },
            {"step_id": "s4", "tool": "todo.list", "status": "skipped", "attempts": []},
        ],
        "source": "archive",
    }
    body.update(changes)
    return Timeline.model_validate(body)


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"s\d ", line)]


def test_one_row_per_attempt_in_the_order_they_went_out_with_a_line_per_restart() -> None:
    text = render_waterfall(timeline(), width=120)
    lines = text.splitlines()
    assert lines[0].startswith("run run-1  COMPLETED  in 1.00s")
    assert "3 restart" not in lines[0]
    assert "4 steps, 4 attempts, 1 restart" in lines[0]
    assert f"trace: paste into Jaeger/Tempo: {TRACE}" in text
    assert "42 tokens (30 prompt + 12 completion), $0.000420" in text
    rows = _rows(text)
    assert [r.split()[0] + ":" + r.split()[3] for r in rows] == [
        "s1:1",
        "s2:1",
        "s1:2",
        "s3:1",
        "s4:-",
    ]
    restart = lines.index("↻ restart 1 at +600ms: flaky")
    assert lines[restart + 1].startswith("s3 todo.add")
    assert "timed_out ↻ +250ms" in rows[0]
    assert "offline/offline-echo" in rows[1]
    assert rows[1].split()[-2:] == ["42", "$0.000420"]
    assert rows[-1].endswith("skipped")


def test_the_bar_puts_queue_wait_then_work_on_the_runs_time_axis() -> None:
    text = render_waterfall(timeline(), width=187)  # leaves a 100-column bar
    bars = [row.split("|")[1] for row in _rows(text)]
    assert {len(b) for b in bars} == {100}
    first = bars[0]  # dispatched at 0, started at 100 ms, finished at 200 ms, of 1000 ms
    assert first[:10] == QUEUE * 10
    assert first[10:21] == WORK * 11
    assert first[21:].strip() == ""
    s3 = bars[3]
    assert s3[65:70] == QUEUE * 5
    assert s3[70:] == WORK * 30
    assert bars[4].strip() == ""  # s4 never ran


def test_work_still_going_on_is_drawn_to_the_end_of_what_is_known() -> None:
    running = timeline(status="working", finished_at=None, restart_history=[], restarts=0)
    steps = running.steps[:1]
    only = steps[0].model_copy(
        update={"attempts": [steps[0].attempts[0].model_copy(update={"finished_at": None})]}
    )
    text = render_waterfall(running.model_copy(update={"steps": [only]}), width=120)
    bar = _rows(text)[0].split("|")[1]
    assert bar.rstrip().endswith(RUNNING)
    assert "WORKING" in text.splitlines()[0]


def test_the_layout_fits_the_terminal_and_the_bar_takes_what_is_left() -> None:
    bars: list[int] = []
    for width in (60, 80, 100, 160, 240):
        text = render_waterfall(timeline(), width=width)
        table = [line for line in text.splitlines() if line.startswith(("STEP", "s"))]
        # Below ~80 columns the text columns are cut to a floor and the bar keeps 10.
        assert max(len(line) for line in table) <= max(width, 80), width
        bars.append(len(_rows(text)[0].split("|")[1]))
    assert bars[0] == bars[1] == 10
    assert bars[2] < bars[3] < bars[4]
    assert bars[4] - bars[3] == 80


def test_colour_only_when_asked_and_never_changes_the_layout() -> None:
    plain = render_waterfall(timeline(), width=100)
    coloured = render_waterfall(timeline(), width=100, colour=True)
    assert not ANSI.search(plain)
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain


def _hostile() -> Timeline:
    base = timeline()
    step = base.steps[0]
    bad = step.attempts[0].model_copy(
        update={
            "agent": HOSTILE,
            "error": step.attempts[0].error.model_copy(  # type: ignore[union-attr]
                update={"code": "tool_failed\x1b[31m", "message": HOSTILE}
            ),
        }
    )
    steps = [step.model_copy(update={"tool": HOSTILE, "attempts": [bad]}), *base.steps[1:]]
    return base.model_copy(update={"steps": steps, "prompt": HOSTILE, "run_id": "run-<1>"})


def test_hostile_text_cannot_reach_the_terminal_as_control_characters() -> None:
    text = render_waterfall(_hostile(), width=160)
    assert "\x1b" not in text
    assert "\r" not in text
    assert all(line.isprintable() for line in text.splitlines())
    assert "<script>alert('x')</script>" in text  # shown as text, which is harmless here
    assert clean("a\x00b\tc\u202ed") == "ab c d"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def test_the_html_page_is_self_contained_and_holds_every_step_and_attempt() -> None:
    html = render_waterfall_html(timeline())
    page = _parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert page.tags.count("style") == 1
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)
    assert not [name for name, _ in page.attrs if name in ("src", "href") or name.startswith("on")]
    text = " ".join(page.text)
    for step in ("s1", "s2", "s3", "s4"):
        assert step in page.text
    assert TRACE in text
    assert "paste into Jaeger/Tempo" in text
    assert page.tags.count("tr") == 1 + 5 + 1  # header, one per attempt or idle step, restart
    assert "no answer in 1s" in text
    bars = re.findall(r'class="(queue|work)" style="left:([\d.]+)%;width:([\d.]+)%"', html)
    assert ("queue", "0.000", "10.000") in bars
    assert ("work", "10.000", "10.000") in bars


def test_the_html_page_escapes_hostile_names_and_errors() -> None:
    html = render_waterfall_html(_hostile())
    page = _parse(html)
    assert "script" not in page.tags
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert any("<script>alert('x')</script>" in t for t in page.text)
    assert "run-&lt;1&gt;" in html


def test_settled_means_ended_archived_and_every_attempt_accounted_for() -> None:
    assert timeline().settled
    assert not timeline(status="working").settled
    assert not timeline(source="live").settled
    lost = timeline()
    s3 = lost.steps[2]
    s3 = s3.model_copy(
        update={"attempts": [s3.attempts[0].model_copy(update={"status": "unknown"})]}
    )
    assert not lost.model_copy(update={"steps": [*lost.steps[:2], s3, lost.steps[3]]}).settled
