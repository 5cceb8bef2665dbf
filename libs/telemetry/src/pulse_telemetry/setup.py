"""One call that gives a service its tracer provider, metrics registry and logging."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from prometheus_client import CollectorRegistry

from pulse_settings import ServiceSettings
from pulse_telemetry.logs import configure_logging
from pulse_telemetry.tracing import RunAttributesProcessor

__all__ = ["Telemetry", "setup_telemetry"]


@dataclass(frozen=True)
class Telemetry:
    service: str
    tracer_provider: TracerProvider
    registry: CollectorRegistry

    @property
    def tracer(self) -> trace.Tracer:
        return self.tracer_provider.get_tracer(f"pulse.{self.service}")

    def shutdown(self) -> None:
        """Flush spans still waiting in the batch, then stop exporting."""
        self.tracer_provider.force_flush(timeout_millis=5000)
        self.tracer_provider.shutdown()


def _exporter(settings: ServiceSettings) -> SpanExporter | None:
    """OTLP over gRPC (`grpc`: the endpoint is `host:port`, plaintext for an `http://` one)
    or over HTTP (`http/protobuf`: spans go to `<endpoint>/v1/traces`)."""
    if not settings.otlp_endpoint:
        return None
    endpoint = settings.otlp_endpoint.rstrip("/")
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")


def _version() -> str:
    try:
        return importlib.metadata.version("pulse-telemetry")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def setup_telemetry(settings: ServiceSettings, *, install_global: bool = True) -> Telemetry:
    """Configure logging and tracing for `settings.service_name`.

    `install_global=False` leaves the process-wide tracer provider alone, for tests that
    build several services in one process.
    """
    service = settings.service_name
    configure_logging(service, settings.log_level, settings.log_format)
    resource = Resource.create(
        {
            "service.name": service,
            "service.namespace": "pulse",
            "service.version": _version(),
        }
    )
    provider = TracerProvider(resource=resource)
    # Stamps each span when it starts, while it is still writable; exported when it ends.
    provider.add_span_processor(RunAttributesProcessor())
    exporter = _exporter(settings)
    if exporter is not None:
        provider.add_span_processor(
            BatchSpanProcessor(exporter, schedule_delay_millis=settings.trace_export_delay_ms)
        )
    if install_global:
        trace.set_tracer_provider(provider)
    return Telemetry(service=service, tracer_provider=provider, registry=CollectorRegistry())
