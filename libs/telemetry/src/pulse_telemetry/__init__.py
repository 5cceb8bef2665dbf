"""pulse-telemetry: tracing, JSON logs and metrics, configured the same way in every service."""

from pulse_telemetry.context import (
    bind_run,
    bound_run_fields,
    current_run_fields,
    run_attributes,
    run_baggage,
    run_scope,
)
from pulse_telemetry.logs import JsonFormatter, configure_logging, error_fields
from pulse_telemetry.redaction import is_secret_key, redact
from pulse_telemetry.setup import Telemetry, setup_telemetry
from pulse_telemetry.tracing import (
    RunAttributesProcessor,
    current_span_id,
    current_trace_id,
    extract_baggage,
    extract_context,
    inject_headers,
    with_run_baggage,
)

__all__ = [
    "JsonFormatter",
    "RunAttributesProcessor",
    "Telemetry",
    "bind_run",
    "bound_run_fields",
    "configure_logging",
    "current_run_fields",
    "current_span_id",
    "current_trace_id",
    "error_fields",
    "extract_baggage",
    "extract_context",
    "inject_headers",
    "is_secret_key",
    "redact",
    "run_attributes",
    "run_baggage",
    "run_scope",
    "setup_telemetry",
    "with_run_baggage",
]
