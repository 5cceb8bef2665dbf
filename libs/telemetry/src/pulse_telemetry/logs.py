"""JSON log lines that always say which service, trace, span and run they belong to.

Every line has `timestamp`, `level`, `service`, `logger`, `message`, `trace_id` and
`span_id`, plus `run_id`, `step_id` and `tenant` when known (bound, or from the baggage),
plus whatever the caller passed in `extra=` (`duration_ms`, `outcome`, ...). An exception
becomes a typed `error` object: a `PulseError` (or an `ErrorInfo` passed as `extra`'s
`error`) gives `{code, message, retryable, run_id, step_id}`, anything else code
`internal` with its type. Secrets are masked and conversation content is dropped unless
debug logging is on (`pulse_telemetry.redaction`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Final

from pulse_contracts import ErrorCode, ErrorInfo, PulseError
from pulse_telemetry.context import current_run_fields
from pulse_telemetry.redaction import redact, redact_text
from pulse_telemetry.tracing import current_span_id, current_trace_id

__all__ = ["JsonFormatter", "configure_logging", "error_fields"]

# Attributes every LogRecord has; anything else was passed through `extra=` and is kept.
_RESERVED: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def error_fields(error: BaseException | ErrorInfo) -> dict[str, object]:
    """The typed `error` object of a log line; the run and step default to the bound ones."""
    bound = current_run_fields()
    if isinstance(error, PulseError):
        error = error.to_info()
    if isinstance(error, ErrorInfo):
        return {
            "code": error.code.value,
            "message": redact_text(error.message),
            "retryable": error.retryable,
            "run_id": error.run_id or bound.get("run_id"),
            "step_id": error.step_id or bound.get("step_id"),
        }
    return {
        "code": ErrorCode.INTERNAL.value,
        "type": type(error).__name__,
        "message": redact_text(str(error)),
        "retryable": False,
        "run_id": bound.get("run_id"),
        "step_id": bound.get("step_id"),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line. `keep_content` keeps prompts and completions (debug)."""

    def __init__(self, service: str, *, keep_content: bool = False) -> None:
        super().__init__()
        self.service = service
        self.keep_content = keep_content

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
            "trace_id": current_trace_id(),
            "span_id": current_span_id(),
        }
        line.update(current_run_fields())
        extra = {
            key: value
            for key, value in vars(record).items()
            if key not in _RESERVED and not key.startswith("_")
        }
        error = extra.pop("error", None)
        redacted = redact(extra, keep_content=self.keep_content)
        if isinstance(redacted, dict):
            line.update(redacted)
        if isinstance(error, BaseException | ErrorInfo):
            line["error"] = error_fields(error)
        elif error is not None:
            line["error"] = redact(error, keep_content=self.keep_content)
        if record.exc_info and record.exc_info[1] is not None:
            line["error"] = error_fields(record.exc_info[1])
            line["stack"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _TextFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__("%(asctime)s %(levelname)-7s " + service + " %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = redact_text(super().format(record))
        fields = current_run_fields()
        return text + (" " + " ".join(f"{k}={v}" for k, v in fields.items()) if fields else "")


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (ours, FastStream's, uvicorn's) through one handler on stderr.

    Prompts and completions passed in `extra=` appear only when `level` is DEBUG.
    """
    handler = logging.StreamHandler(sys.stderr)
    debug = logging.getLevelName(level.upper()) == logging.DEBUG
    handler.setFormatter(
        JsonFormatter(service, keep_content=debug) if fmt == "json" else _TextFormatter(service)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "faststream.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
