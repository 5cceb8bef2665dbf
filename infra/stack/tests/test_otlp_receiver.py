"""The OTLP receiver takes spans over HTTP and over gRPC from the real OpenTelemetry exporters,
configured the way every service configures them (`pulse_telemetry.setup_telemetry`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import ClassVar

import pytest

from pulse_settings import ServiceSettings
from pulse_stack.otlp_receiver import OtlpProtocol, OtlpReceiver
from pulse_telemetry import run_scope, setup_telemetry


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as otlp:
        yield otlp


@pytest.fixture(autouse=True)
def _keep_log_handlers() -> Iterator[None]:
    # setup_telemetry routes the root logger to stderr; put pytest's handlers back after.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_service_exports_its_spans_to_the_receiver(
    receiver: OtlpReceiver, protocol: OtlpProtocol
) -> None:
    settings = ProbeSettings(  # the fields are read under their environment names
        PULSE_OTLP_ENDPOINT=receiver.endpoint_for(protocol),
        PULSE_OTLP_PROTOCOL=protocol,
        trace_export_delay_ms=10,
    )
    assert (settings.otlp_endpoint, settings.otlp_protocol) == (
        receiver.endpoint_for(protocol),
        protocol,
    )
    telemetry = setup_telemetry(settings, install_global=False)
    with (
        run_scope("run-otlp", tenant="acme"),
        telemetry.tracer.start_as_current_span("parent") as parent,
        telemetry.tracer.start_as_current_span("child", attributes={"pulse.attempt": 2}),
    ):
        trace_id = format(parent.get_span_context().trace_id, "032x")
    telemetry.shutdown()  # flushes the batch: the export call has returned

    spans = {s.name: s for s in receiver.trace(trace_id)}
    assert set(spans) == {"parent", "child"}
    assert spans["child"].parent_span_id == spans["parent"].span_id
    assert spans["parent"].parent_span_id is None
    assert {s.service for s in spans.values()} == {"probe"}
    assert {s.protocol for s in spans.values()} == {protocol}
    assert spans["child"].attributes["pulse.attempt"] == "2"
    assert spans["child"].attributes["pulse.run_id"] == "run-otlp"
    assert spans["child"].attributes["pulse.tenant"] == "acme"
    assert spans["child"].end_ns >= spans["child"].start_ns > 0


def test_each_protocol_has_its_own_endpoint(receiver: OtlpReceiver) -> None:
    assert receiver.endpoint_for("http/protobuf") == receiver.endpoint
    assert receiver.endpoint_for("grpc") == receiver.grpc_endpoint
    assert receiver.port != receiver.grpc_port > 0
