from __future__ import annotations

import json
import logging
import sys

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider

from pulse_contracts import ErrorCode, ErrorInfo, StepTimedOut, ToolFailed
from pulse_telemetry import JsonFormatter, configure_logging, run_baggage, run_scope


def _format(record: logging.LogRecord, *, keep_content: bool = False) -> dict[str, object]:
    formatter = JsonFormatter("planner", keep_content=keep_content)
    return json.loads(formatter.format(record))  # type: ignore[no-any-return]


def _record(msg: str, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("pulse.test", level, __file__, 1, msg, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def _failed(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        return logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())


def test_log_line_carries_service_trace_span_and_run() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work") as span, run_scope("run-1", "s2", "acme"):
        line = _format(_record("step finished", duration_ms=12.5))
    ctx = span.get_span_context()
    assert line["service"] == "planner"
    assert line["level"] == "info"
    assert str(line["timestamp"]).endswith("+00:00")
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
    assert "duration_ms" not in line
    assert line["trace_id"] is None


def test_run_and_tenant_come_from_the_baggage_when_nothing_is_bound() -> None:
    token = otel_context.attach(run_baggage("run-from-hop", "globex"))
    try:
        line = _format(_record("consumed"))
        with run_scope("run-bound", "s1", "acme"):
            bound = _format(_record("handled"))
    finally:
        otel_context.detach(token)
    assert (line["run_id"], line["tenant"]) == ("run-from-hop", "globex")
    assert "step_id" not in line
    assert (bound["run_id"], bound["tenant"]) == ("run-bound", "acme")


def test_a_pulse_error_is_a_typed_error_object() -> None:
    with run_scope("run-7", "s3", "acme"):
        line = _format(_failed(StepTimedOut("no answer in 30s", run_id="run-7", step_id="s3")))
    assert line["error"] == {
        "code": "timed_out",
        "message": "no answer in 30s",
        "retryable": True,
        "run_id": "run-7",
        "step_id": "s3",
    }
    assert "StepTimedOut" in str(line["stack"])


def test_a_pulse_error_without_a_run_takes_the_bound_one() -> None:
    with run_scope("run-8", "s1", "acme"):
        line = _format(_failed(ToolFailed("division by zero")))
    error = line["error"]
    assert isinstance(error, dict)
    assert (error["code"], error["run_id"], error["step_id"]) == ("tool_failed", "run-8", "s1")
    assert error["retryable"] is False


def test_any_other_exception_is_typed_as_internal() -> None:
    line = _format(_failed(ValueError("bad input")))
    assert line["error"] == {
        "code": "internal",
        "type": "ValueError",
        "message": "bad input",
        "retryable": False,
        "run_id": None,
        "step_id": None,
    }


def test_an_error_info_passed_as_extra_is_typed() -> None:
    info = ErrorInfo(code=ErrorCode.PROVIDER_FAILED, message="503", retryable=True, run_id="r")
    line = _format(_record("attempt failed", logging.WARNING, error=info))
    assert line["error"] == {
        "code": "provider_failed",
        "message": "503",
        "retryable": True,
        "run_id": "r",
        "step_id": None,
    }


def test_secret_values_are_masked_at_any_depth() -> None:
    line = _format(
        _record(
            "calling provider",
            api_key="sk-live-123",
            headers={"Authorization": "Bearer abc.def", "Accept": "application/json"},
            providers=[{"name": "groq", "apiKey": "gsk_1", "client_secret": "x"}],
            password="hunter2",
            access_token="tok",
            prompt_tokens=12,
            max_tokens=64,
        )
    )
    assert line["api_key"] == "[redacted]"
    assert line["headers"] == {"Authorization": "[redacted]", "Accept": "application/json"}
    assert line["providers"] == [
        {"name": "groq", "apiKey": "[redacted]", "client_secret": "[redacted]"}
    ]
    assert line["password"] == "[redacted]"
    assert line["access_token"] == "[redacted]"
    # Counts of tokens are not credentials.
    assert (line["prompt_tokens"], line["max_tokens"]) == (12, 64)
    assert "sk-live-123" not in json.dumps(line)


def test_bearer_credentials_are_masked_inside_messages() -> None:
    line = _format(_record("upstream refused Authorization: Bearer sk-abc123 with 401"))
    assert line["message"] == "upstream refused Authorization: Bearer [redacted] with 401"


def test_conversation_content_is_dropped_unless_debug() -> None:
    record = _record(
        "llm call",
        prompt="my whole prompt",
        messages=[{"role": "user", "content": "hi"}],
        completion="the answer",
        request={"model": "m", "prompt": "nested prompt"},
        prompt_tokens=5,
    )
    line = _format(record)
    assert {"prompt", "messages", "completion"}.isdisjoint(line)
    assert line["request"] == {"model": "m"}
    assert line["prompt_tokens"] == 5

    debug = _format(record, keep_content=True)
    assert debug["prompt"] == "my whole prompt"
    assert debug["messages"] == [{"role": "user", "content": "hi"}]
    assert debug["completion"] == "the answer"


def test_configure_logging_keeps_content_only_at_debug() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging("executor", "DEBUG")
        formatter = root.handlers[0].formatter
        assert isinstance(formatter, JsonFormatter)
        assert formatter.keep_content
        configure_logging("executor", "info")
        formatter = root.handlers[0].formatter
        assert isinstance(formatter, JsonFormatter)
        assert not formatter.keep_content
        assert formatter.service == "executor"
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
