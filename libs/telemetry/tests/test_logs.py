from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from pulse_telemetry import JsonFormatter, run_scope


def _format(record: logging.LogRecord) -> dict[str, object]:
    return json.loads(JsonFormatter("planner").format(record))  # type: ignore[no-any-return]


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("pulse.test", logging.INFO, __file__, 1, msg, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_log_line_carries_service_trace_span_and_run() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work") as span, run_scope("run-1", "s2", "acme"):
        line = _format(_record("step finished", duration_ms=12.5))
    ctx = span.get_span_context()
    assert line["service"] == "planner"
    assert line["trace_id"] == format(ctx.trace_id, "032x")
    assert line["span_id"] == format(ctx.span_id, "016x")
    assert (line["run_id"], line["step_id"], line["tenant"]) == ("run-1", "s2", "acme")
    assert line["duration_ms"] == 12.5
    assert line["message"] == "step finished"


def test_run_fields_do_not_leak_out_of_their_scope() -> None:
    with run_scope("run-1"):
        pass
    line = _format(_record("idle"))
    assert "run_id" not in line
    assert line["trace_id"] is None


def test_errors_are_typed() -> None:
    try:
        raise ValueError("bad input")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = _format(record)
    assert line["error"] == {"type": "ValueError", "message": "bad input"}
