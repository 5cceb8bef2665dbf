"""`pulse trace --html FILE`: the same waterfall as one self-contained HTML page.

Inline CSS only: no script, no font, no image, nothing fetched, so the page can be
attached to an incident ticket and opened anywhere. Every value that came from a run is
HTML-escaped; bar positions are numbers the page computes here.
"""

from __future__ import annotations

from html import escape
from typing import Final

from pulse_client.timeline import Timeline, TimelineAttempt, TimelineStep
from pulse_client.waterfall import Axis, attempt_note, format_cost, format_ms, plural

__all__ = ["render_waterfall_html"]

_CSS: Final = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:18px;margin:0 0 8px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 16px}
dt{color:#5b6475}dd{margin:0}
code{font:13px ui-monospace,monospace;background:#f1f3f7;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #e3e6ec;text-align:left;vertical-align:top}
th{font-weight:600;color:#5b6475;font-size:12px;text-transform:uppercase}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.bar{width:40%;min-width:240px}
.track{position:relative;height:14px;background:#f6f7fa;border-radius:2px}
.track span{position:absolute;top:0;bottom:0;min-width:2px}
.queue{background:repeating-linear-gradient(90deg,#b8bfcc 0 2px,transparent 2px 4px)}
.work{background:#2f7d4f}
.s-failed .work,.s-unknown .work{background:#c0392b}
.s-retried .work{background:#d68910}
.s-canceled .work{background:#8e44ad}
.s-running .work{background:#5dade2}
tr.restart td{background:#fdf6e3;font-weight:600}
.status{font-weight:600;text-transform:uppercase}
.err{color:#a93226}
.legend{margin-top:12px;color:#5b6475}
.legend span{display:inline-block;width:18px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
"""

_COLUMNS: Final = (
    "Step",
    "Tool",
    "Agent",
    "Try",
    "Timeline",
    "Queue",
    "Work",
    "Tokens",
    "Cost",
    "Error",
)


def _pct(value: float) -> str:
    return f"{value * 100:.3f}%"


def _bar(attempt: TimelineAttempt, axis: Axis) -> str:
    spans: list[str] = []
    start = attempt.started_at
    if attempt.dispatched_at is not None:
        left = axis.fraction(attempt.dispatched_at)
        right = axis.fraction(start or attempt.finished_at or axis.end)
        spans.append(
            f'<span class="queue" style="left:{_pct(left)};width:{_pct(right - left)}"></span>'
        )
    if start is not None:
        left = axis.fraction(start)
        right = axis.fraction(attempt.finished_at or axis.end)
        spans.append(
            f'<span class="work" style="left:{_pct(left)};width:{_pct(right - left)}"></span>'
        )
    return '<div class="track">' + "".join(spans) + "</div>"


def _attempt_row(attempt: TimelineAttempt, step: TimelineStep, axis: Axis) -> str:
    error = attempt.error
    note = escape(attempt_note(attempt, axis))
    if error is not None:
        note = f'<span class="err">{note}</span><br>{escape(error.message)}'
    moments = (
        ("dispatched", attempt.dispatched_at),
        ("started", attempt.started_at),
        ("finished", attempt.finished_at),
        ("retry", attempt.retry_at),
    )
    times = ", ".join(
        f"{name} +{format_ms(axis.offset_ms(when))}" for name, when in moments if when is not None
    )
    cells = [
        f"<td><code>{escape(attempt.step_id)}</code></td>",
        f"<td>{escape(step.tool)}</td>",
        f"<td>{escape(attempt.agent or step.agent)}</td>",
        f'<td class="num">{attempt.attempt}</td>',
        f'<td class="bar" title="{escape(times)}">{_bar(attempt, axis)}</td>',
        f'<td class="num">{escape(format_ms(attempt.queue_wait_ms))}</td>',
        f'<td class="num">{escape(format_ms(attempt.duration_ms))}</td>',
        f'<td class="num">{attempt.usage.tokens}</td>',
        f'<td class="num">{escape(format_cost(attempt.usage.cost_usd))}</td>',
        f"<td>{note}</td>",
    ]
    return f'<tr class="s-{escape(attempt.status)}">' + "".join(cells) + "</tr>"


def _idle_row(step: TimelineStep) -> str:
    cells = [
        f"<td><code>{escape(step.step_id)}</code></td>",
        f"<td>{escape(step.tool)}</td>",
        f"<td>{escape(step.agent)}</td>",
        '<td class="num">-</td>',
        '<td class="bar"><div class="track"></div></td>',
        *['<td class="num">-</td>'] * 4,
        f"<td>{escape(step.status)}</td>",
    ]
    return f'<tr class="s-{escape(step.status)}">' + "".join(cells) + "</tr>"


def _rows(timeline: Timeline, axis: Axis) -> list[str]:
    steps = {s.step_id: s for s in timeline.steps}
    restarts = {r.restarts: r for r in timeline.restart_history}
    rows: list[str] = []
    shown = 0
    for attempt in timeline.attempts():
        while shown < attempt.restart:
            shown += 1
            mark = restarts.get(shown)
            text = f"↻ restart {shown}"
            if mark is not None:
                text += f" at +{format_ms(axis.offset_ms(mark.at))}"
                text += f": {mark.reason}" if mark.reason else ""
            rows.append(
                f'<tr class="restart"><td colspan="{len(_COLUMNS)}">{escape(text)}</td></tr>'
            )
        rows.append(_attempt_row(attempt, steps[attempt.step_id], axis))
    rows += [_idle_row(s) for s in timeline.steps if not s.attempts]
    return rows


def _summary(timeline: Timeline) -> str:
    usage = timeline.usage
    facts = [
        ("Status", f'<span class="status">{escape(timeline.status)}</span>'),
        ("Goal", escape(timeline.prompt)),
        ("Duration", escape(format_ms(timeline.duration_ms))),
        (
            "Steps",
            f"{plural(len(timeline.steps), 'step')}, "
            f"{plural(timeline.attempt_count, 'attempt')}, {plural(timeline.restarts, 'restart')}",
        ),
        (
            "Usage",
            f"{usage.tokens} tokens ({usage.prompt_tokens} prompt + {usage.completion_tokens} "
            f"completion), {escape(format_cost(usage.cost_usd))}",
        ),
        (
            "Trace",
            "paste into Jaeger/Tempo: <code>"
            + escape(timeline.trace_id or "(none recorded)")
            + "</code>",
        ),
    ]
    if timeline.error is not None:
        error = timeline.error
        facts.append(
            ("Error", f'<span class="err">{escape(error.code)}</span>: {escape(error.message)}')
        )
    if timeline.source != "archive":
        facts.append(("Note", "not archived yet: only each step's latest attempt is known"))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>"


def render_waterfall_html(timeline: Timeline) -> str:
    axis = Axis.of(timeline)
    head = "".join(f"<th>{name}</th>" for name in _COLUMNS)
    title = escape(f"pulse trace {timeline.run_id}")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>Run <code>{escape(timeline.run_id)}</code></h1>",
            _summary(timeline),
            f"<table><thead><tr>{head}</tr></thead><tbody>",
            *_rows(timeline, axis),
            "</tbody></table>",
            '<p class="legend">time axis 0 to '
            + escape(format_ms(axis.span_ms))
            + '<span class="queue"></span>queue wait<span class="work"></span>work'
            "</p>",
            "</body>",
            "</html>",
            "",
        ]
    )
