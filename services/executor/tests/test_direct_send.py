"""Effects published straight on the connection: one producer span each, in the run's trace.

The e2e tracing test checks the edges across processes; here the headers and the span one
message gets, and against a real server that the stream deduplicates by `Nats-Msg-Id`,
a core-NATS stop request reaches its listeners, and a withdrawn timer never fires.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from pulse_broker import ensure_streams, server_caught_up
from pulse_contracts import (
    CancelTask,
    DispatchTask,
    ErrorCode,
    ErrorInfo,
    StepTimeoutDue,
    subjects,
    utcnow,
)
from pulse_executor import Settings
from pulse_executor.adapters import BusEffectPublisher, DirectSend, producer_headers
from pulse_executor.domain import PendingTimer
from pulse_telemetry import RunAttributesProcessor, run_scope


def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RunAttributesProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def task(step_id: str = "a", attempt: int = 1) -> DispatchTask:
    return DispatchTask(
        message_id=f"run-1:{step_id}:{attempt}:dispatch",
        run_id="run-1",
        tenant="acme",
        step_id=step_id,
        attempt=attempt,
        tool="echo",
        input={"x": 1},
    )


def test_a_message_gets_a_create_span_under_the_current_one_and_its_headers() -> None:
    provider, exporter = traced()
    tracer = provider.get_tracer("test")
    subject = subjects.dispatch_subject("default")
    with (
        tracer.start_as_current_span("pulse.tasks.result process") as parent,
        run_scope("run-1", None, "acme"),
    ):
        headers = producer_headers(tracer, task(), subject, {"Nats-Schedule": "@at x"})
        again = producer_headers(tracer, task("b"), subject)
    create, other, _ = exporter.get_finished_spans()
    assert create.name == f"{subject} create"
    assert create.kind is SpanKind.PRODUCER
    assert create.parent is not None
    assert create.parent.span_id == parent.get_span_context().span_id
    assert dict(create.attributes or {}) == {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.message.id": "run-1:a:1:dispatch",
        "pulse.step_id": "a",
        "pulse.run_id": "run-1",
        "pulse.tenant": "acme",
    }
    context = create.get_span_context()
    flags = int(context.trace_flags)
    assert (
        headers["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"
    )
    assert set(headers["baggage"].split(",")) == {"run_id=run-1", "tenant=acme"}
    assert headers["Nats-Msg-Id"] == "run-1:a:1:dispatch"
    assert headers["Nats-Schedule"] == "@at x"
    # Each message its own span, so each consumer's span hangs under its own message.
    assert other.get_span_context().span_id != context.span_id
    assert again["traceparent"] != headers["traceparent"]


def test_without_a_trace_a_message_starts_none() -> None:
    provider, exporter = traced()
    headers = producer_headers(provider.get_tracer("test"), task(), "pulse.tasks.dispatch.x")
    (create,) = exporter.get_finished_spans()
    assert create.parent is None
    assert headers["traceparent"].startswith(f"00-{create.get_span_context().trace_id:032x}-")
    assert "baggage" not in headers


@pytest.mark.nats
async def test_on_a_real_server_sends_deduplicate_and_withdrawn_timers_never_fire(
    nats_url: str, nc: Client
) -> None:
    settings = Settings(nats_url=nats_url)
    js = nc.jetstream()
    await ensure_streams(js, settings)
    provider, _ = traced()
    broker = NatsBroker(nats_url)
    await broker.connect()
    try:
        publisher = BusEffectPublisher(broker, tracer=provider.get_tracer("test"))
        send = DirectSend(provider.get_tracer("test"))
        subject = subjects.dispatch_subject("default")
        first = await send(broker, task(), subject, stream=subjects.STREAM_TASKS)
        second = await send(broker, task(), subject, stream=subjects.STREAM_TASKS)
        assert (bool(first.duplicate), second.duplicate) == (False, True)

        heard: list[Msg] = []
        await nc.subscribe(subjects.task_cancel_subject("run-1"), cb=_append(heard))
        await server_caught_up(nc)
        stop = CancelTask(
            message_id="run-1:a:1:cancel",
            run_id="run-1",
            tenant="acme",
            step_id="a",
            attempt=1,
            reason=ErrorInfo(code=ErrorCode.CANCELED, message="the run ended"),
        )
        await publisher.publish(stop)

        soon = utcnow() + timedelta(seconds=1)
        for step_id in ("a", "b"):
            await publisher.publish(
                StepTimeoutDue(
                    message_id=f"run-1:{step_id}:1:timeout",
                    run_id="run-1",
                    tenant="acme",
                    due_at=soon,
                    step_id=step_id,
                    attempt=1,
                    timeout_s=1.0,
                )
            )
        await publisher.withdraw((PendingTimer("run-1", "a", 1, "timeout"),))
        fired = await js.pull_subscribe(
            subjects.TIMERS_FIRED_WILDCARD, durable="test-timers", stream=subjects.STREAM_TIMERS
        )
        msgs = await fired.fetch(10, timeout=5)
        await asyncio.sleep(1.0)  # room for a wrongly kept timer to fire too
        msgs += await _more(fired)
        assert [StepTimeoutDue.model_validate_json(m.data).step_id for m in msgs] == ["b"]
        assert [m.headers and m.headers.get("Nats-Msg-Id") for m in heard] == ["run-1:a:1:cancel"]
    finally:
        await broker.stop()


def _append(into: list[Msg]):  # type: ignore[no-untyped-def]
    async def callback(msg: Msg) -> None:
        into.append(msg)

    return callback


async def _more(psub) -> list[Msg]:  # type: ignore[no-untyped-def]
    try:
        return list(await psub.fetch(10, timeout=0.5))
    except TimeoutError:
        return []
