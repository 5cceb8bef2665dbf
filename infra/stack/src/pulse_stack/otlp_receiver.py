"""A minimal OTLP trace receiver, over HTTP and gRPC: collects the spans real services export.

Tests point `OTEL_EXPORTER_OTLP_ENDPOINT` at `endpoint_for(protocol)` (and set
`OTEL_EXPORTER_OTLP_PROTOCOL`) to check, across processes, that one run leaves one trace.
OTLP/HTTP export requests arrive as protobuf on `POST /v1/traces`; OTLP/gRPC ones through
the `TraceService/Export` call of a real `grpc.server` on another loopback port. Both are
decoded with `opentelemetry-proto` into the same list of `ReceivedSpan`.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the proto and grpc packages are test dependencies, imported on use
    import grpc
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

__all__ = ["OtlpProtocol", "OtlpReceiver", "ReceivedSpan"]

OtlpProtocol = Literal["grpc", "http/protobuf"]


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: dict[str, str]
    """Every attribute value as text (numbers and booleans as Python spells them)."""
    kind: int = 0
    """OTLP `Span.SpanKind`: 1 internal, 2 server, 3 client, 4 producer, 5 consumer."""
    start_ns: int = 0
    end_ns: int = 0
    status_code: int = 0
    """OTLP `Status.StatusCode`: 0 unset, 1 ok, 2 error."""
    protocol: OtlpProtocol = "http/protobuf"
    """How the span arrived."""


def _text(value: AnyValue) -> str:
    which = value.WhichOneof("value")
    if which is None:
        return ""
    if which in ("array_value", "kvlist_value", "bytes_value"):
        return str(getattr(value, which)).strip()
    return str(getattr(value, which))


def _spans(request: ExportTraceServiceRequest, protocol: OtlpProtocol) -> list[ReceivedSpan]:
    received: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        service = next(
            (
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            ),
            "unknown",
        )
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                received.append(
                    ReceivedSpan(
                        service=service,
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        attributes={a.key: _text(a.value) for a in span.attributes},
                        kind=int(span.kind),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        status_code=int(span.status.code),
                        protocol=protocol,
                    )
                )
    return received


class OtlpReceiver:
    """Both protocols at once; use as a context manager."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.grpc_port = 0
        self._lock = threading.Lock()
        self._grpc: grpc.Server | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.path.rstrip("/") == "/v1/traces":
                    receiver._ingest_http(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        # Port 0: the kernel picks a free port, with no window for another process to take it.
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The OTLP/HTTP endpoint (exporters add `/v1/traces`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_endpoint(self) -> str:
        """The OTLP/gRPC endpoint, plaintext (the `http://` scheme tells exporters so)."""
        return f"http://127.0.0.1:{self.grpc_port}"

    def endpoint_for(self, protocol: OtlpProtocol) -> str:
        return self.grpc_endpoint if protocol == "grpc" else self.endpoint

    def __enter__(self) -> OtlpReceiver:
        self._grpc = self._start_grpc()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait(5)

    def _start_grpc(self) -> grpc.Server:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        receiver = self

        class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(  # noqa: N802 - the RPC's name in the OTLP service definition
                self, request: ExportTraceServiceRequest, context: grpc.ServicerContext
            ) -> ExportTraceServiceResponse:
                receiver._ingest(_spans(request, "grpc"))
                return ExportTraceServiceResponse()

        server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-grpc"))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            TraceService(), server
        )
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        return server

    def _ingest_http(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self._ingest(_spans(request, "http/protobuf"))

    def _ingest(self, received: list[ReceivedSpan]) -> None:
        with self._lock:
            self.spans.extend(received)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def wait_for_services(
        self, trace_id: str, services: set[str], timeout_s: float = 20.0
    ) -> list[ReceivedSpan]:
        """Spans of `trace_id` once every service in `services` has exported one (or timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.trace(trace_id)
            if services <= {s.service for s in spans} or time.monotonic() > deadline:
                return spans
            time.sleep(0.1)

    def wait_for_quiet(self, trace_id: str, quiet_s: float = 1.0, timeout_s: float = 30.0) -> None:
        """Until no span of `trace_id` has arrived for `quiet_s` (exporters send in batches)."""
        deadline = time.monotonic() + timeout_s
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            count = len(self.trace(trace_id))
            if count != seen:
                seen, since = count, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.1)
