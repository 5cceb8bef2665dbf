"""`pulse trace` in a terminal: one row per attempt, a bar against the run's time axis.

    STEP            AGENT     TRY  0s                          1.84s  TOKENS       COST  ERROR
    s1 calculator   default     1  ·██                                     0  $0.000000
    s2 llm.complete offline/…   1    ·······██████████████████        24  $0.000012

`·` is queue wait (dispatched, not started yet), `█` the agent's work, `░` work still
going on. Text that came from a run (step names, agents, error messages) is stripped of
control characters, so a hostile value cannot move the cursor or change colours.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pulse_client.timeline import Timeline, TimelineAttempt, TimelineStep

__all__ = [
    "Axis",
    "attempt_note",
    "clean",
    "format_cost",
    "format_ms",
    "plural",
    "render_waterfall",
]

QUEUE: Final = "·"
WORK: Final = "█"
RUNNING: Final = "░"
_MIN_BAR: Final = 10

_RESET: Final = "\x1b[0m"
_STYLE: Final = {
    "completed": "\x1b[32m",
    "failed": "\x1b[31m",
    "retried": "\x1b[33m",
    "canceled": "\x1b[35m",
    "unknown": "\x1b[35m",
    "running": "\x1b[36m",
    "queue": "\x1b[2m",
    "head": "\x1b[1m",
}


def clean(text: object, limit: int | None = None) -> str:
    """One printable line: control and format characters go, whitespace runs collapse."""
    raw = "".join(
        ch if unicodedata.category(ch)[0] != "C" else " " for ch in str(text) if ch != "\x00"
    )
    line = " ".join(raw.split())
    if limit is not None and len(line) > limit:
        return line[: max(limit - 1, 0)] + "…"
    return line


def format_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    return f"{int(ms // 60_000)}m{(ms % 60_000) / 1000:04.1f}s"


def format_cost(usd: float) -> str:
    return f"${usd:.6f}"


@dataclass(frozen=True)
class Axis:
    """The run's time axis, from its first recorded moment to its end."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, timeline: Timeline) -> Axis:
        return cls(timeline.created_at, timeline.ended_at)

    @property
    def span_ms(self) -> float:
        return max((self.end - self.start).total_seconds() * 1000, 0.0)

    def offset_ms(self, at: datetime) -> float:
        return (at - self.start).total_seconds() * 1000

    def fraction(self, at: datetime) -> float:
        """Where `at` falls on the axis, 0 to 1."""
        if self.span_ms <= 0:
            return 0.0
        return min(max(self.offset_ms(at) / self.span_ms, 0.0), 1.0)

    def column(self, at: datetime, width: int) -> int:
        return min(int(self.fraction(at) * width), width - 1)


def attempt_note(attempt: TimelineAttempt, axis: Axis) -> str:
    """The error code, or the status when it is not a plain success, and any retry."""
    note = attempt.error.code if attempt.error else ""
    if not note and attempt.status != "completed":
        note = attempt.status
    if attempt.retry_at is not None:
        note += f" ↻ +{format_ms(axis.offset_ms(attempt.retry_at))}"
    return note


def _bar(attempt: TimelineAttempt, axis: Axis, width: int) -> list[tuple[str, str]]:
    """The bar as (style, text) pieces that add up to `width` characters."""
    cells = [" "] * width
    start = attempt.started_at
    if attempt.dispatched_at is not None:
        wait_end = start or attempt.finished_at or axis.end
        first, last = axis.column(attempt.dispatched_at, width), axis.column(wait_end, width)
        for i in range(first, last + (start is None)):
            cells[i] = QUEUE
    if start is not None:
        mark = WORK if attempt.finished_at is not None else RUNNING
        first = axis.column(start, width)
        last = axis.column(attempt.finished_at or axis.end, width)
        for i in range(first, max(last, first) + 1):
            cells[i] = mark
    pieces: list[tuple[str, str]] = []
    for cell in cells:
        style = "queue" if cell == QUEUE else attempt.status if cell != " " else ""
        if pieces and pieces[-1][0] == style:
            pieces[-1] = (style, pieces[-1][1] + cell)
        else:
            pieces.append((style, cell))
    return pieces


@dataclass(frozen=True)
class _Row:
    step: str
    agent: str
    attempt: str
    tokens: str
    cost: str
    note: str
    status: str
    source: TimelineAttempt | None


def _rows(timeline: Timeline, axis: Axis) -> list[_Row | str]:
    """Attempts in the order they went out, a line at each restart, then steps never run."""
    out: list[_Row | str] = []
    restarts = {r.restarts: r for r in timeline.restart_history}
    shown = 0
    steps = {s.step_id: s for s in timeline.steps}
    for a in timeline.attempts():
        while shown < a.restart:
            shown += 1
            mark = restarts.get(shown)
            when = f" at +{format_ms(axis.offset_ms(mark.at))}" if mark else ""
            reason = f": {clean(mark.reason, 60)}" if mark and mark.reason else ""
            out.append(f"↻ restart {shown}{when}{reason}")
        out.append(
            _Row(
                step=f"{clean(a.step_id)} {clean(steps[a.step_id].tool)}",
                agent=clean(a.agent or steps[a.step_id].agent),
                attempt=str(a.attempt),
                tokens=str(a.usage.tokens),
                cost=format_cost(a.usage.cost_usd),
                note=clean(attempt_note(a, axis)),
                status=a.status,
                source=a,
            )
        )
    out.extend(_never_ran(s) for s in timeline.steps if not s.attempts)
    return out


def _never_ran(step: TimelineStep) -> _Row:
    return _Row(
        step=f"{clean(step.step_id)} {clean(step.tool)}",
        agent=clean(step.agent),
        attempt="-",
        tokens="",
        cost="",
        note=clean(step.status),
        status=step.status,
        source=None,
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _header(timeline: Timeline) -> list[str]:
    restarts = f", {plural(timeline.restarts, 'restart')}" if timeline.restarts else ""
    usage = timeline.usage
    lines = [
        f"run {clean(timeline.run_id)}  {clean(timeline.status).upper()}  "
        f"in {format_ms(timeline.duration_ms)}  ·  {plural(len(timeline.steps), 'step')}, "
        f"{plural(timeline.attempt_count, 'attempt')}{restarts}",
        f"goal:  {clean(timeline.prompt, 200)}",
        f"usage: {usage.tokens} tokens ({usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion), {format_cost(usage.cost_usd)}",
        "trace: paste into Jaeger/Tempo: " + (clean(timeline.trace_id) or "(none recorded)"),
    ]
    if timeline.error is not None:
        lines.append(f"error: {clean(timeline.error.code)}: {clean(timeline.error.message, 200)}")
    if timeline.source != "archive":
        lines.append("note:  not archived yet: only each step's latest attempt is known")
    return lines


def _fit(widths: dict[str, int], width: int) -> int:
    """Shrink the text columns until the bar gets at least `_MIN_BAR`; the bar's width."""
    fixed = 3 + 7 + 10 + 2 * 6 + 2  # TRY, TOKENS, COST, gaps, the bar's borders
    for name, floor in (("note", 9), ("agent", 12), ("step", 14)):
        spare = width - fixed - sum(widths.values())
        if spare >= _MIN_BAR:
            break
        widths[name] = max(floor, widths[name] - (_MIN_BAR - spare))
    return max(width - fixed - sum(widths.values()), _MIN_BAR)


def render_waterfall(timeline: Timeline, *, width: int = 100, colour: bool = False) -> str:
    axis = Axis.of(timeline)
    rows = _rows(timeline, axis)
    table = [r for r in rows if isinstance(r, _Row)]
    widths = {
        "step": min(max([4, *(len(r.step) for r in table)]), 32),
        "agent": min(max([5, *(len(r.agent) for r in table)]), 28),
        "note": min(max([5, *(len(r.note) for r in table)]), 40),
    }
    bar_width = _fit(widths, width)

    def paint(style: str, text: str) -> str:
        code = _STYLE.get(style, "")
        return f"{code}{text}{_RESET}" if colour and code and text.strip() else text

    def cut(text: str, size: int) -> str:
        return text if len(text) <= size else text[: size - 1] + "…"

    def line(
        step: str, agent: str, attempt: str, bar: str, tokens: str, cost: str, note: str
    ) -> str:
        return "  ".join(
            [
                cut(step, widths["step"]).ljust(widths["step"]),
                cut(agent, widths["agent"]).ljust(widths["agent"]),
                attempt.rjust(3),
                bar,
                tokens.rjust(7),
                cost.rjust(10),
                note,
            ]
        ).rstrip()

    total = format_ms(axis.span_ms)
    scale = "0s".ljust(bar_width - len(total)) + total if bar_width > len(total) + 2 else "0s"
    out = [paint("head", text) for text in _header(timeline)]
    out.append("")
    out.append(paint("head", line("STEP", "AGENT", "TRY", f"|{scale}|", "TOKENS", "COST", "ERROR")))
    for row in rows:
        if isinstance(row, str):
            out.append(paint("head", row))
            continue
        pieces = _bar(row.source, axis, bar_width) if row.source else [("", " " * bar_width)]
        bar = "|" + "".join(paint(style, text) for style, text in pieces) + "|"
        note = cut(row.note, widths["note"])
        note = paint(row.status, note) if row.status != "completed" else note
        out.append(line(row.step, row.agent, row.attempt, bar, row.tokens, row.cost, note))
    out.append("")
    out.append(f"{QUEUE} queue wait   {WORK} work   {RUNNING} still running   ↻ retry/restart")
    return "\n".join(out)
