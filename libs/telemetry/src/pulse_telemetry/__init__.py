"""pulse-telemetry: tracing, JSON logs and metrics, configured the same way in every service."""

from pulse_telemetry.context import bind_run, current_run_fields, run_scope
from pulse_telemetry.logs import JsonFormatter, configure_logging
from pulse_telemetry.setup import Telemetry, setup_telemetry
from pulse_telemetry.tracing import (
    current_span_id,
    current_trace_id,
    extract_context,
    inject_headers,
)

__all__ = [
    "JsonFormatter",
    "Telemetry",
    "bind_run",
    "configure_logging",
    "current_run_fields",
    "current_span_id",
    "current_trace_id",
    "extract_context",
    "inject_headers",
    "run_scope",
    "setup_telemetry",
]
