"""Submitting and finding runs over the in-memory adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider

from pulse_contracts import RunStatus, subjects
from pulse_gateway.adapters import BusUnavailableError, InMemoryRunPublisher, InMemoryRunStore
from pulse_gateway.domain import new_run_id
from pulse_gateway.intake import RunIdTakenError, RunIntake

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def intake(store: InMemoryRunStore, publisher: InMemoryRunPublisher, clock: Clock) -> RunIntake:
    return RunIntake(store, publisher, duplicate_window_s=120, clock=clock)


async def _submit(intake: RunIntake, tenant: str = "t1", key: str | None = None):  # type: ignore[no-untyped-def]
    return await intake.submit(tenant=tenant, prompt="p", metadata={"m": 1}, idempotency_key=key)


async def test_submit_stores_state_then_publishes_one_request(
    intake: RunIntake, store: InMemoryRunStore, publisher: InMemoryRunPublisher
) -> None:
    submission = await _submit(intake)
    assert submission.created
    state = store.runs[submission.state.run_id]
    assert state.status is RunStatus.SUBMITTED
    assert state.tenant == "t1"
    assert state.metadata == {"m": 1}
    [published] = publisher.published
    assert published.message.run_id == state.run_id
    assert published.message.message_id == f"run:{state.run_id}:requested"
    assert subjects.RUNS_REQUESTED  # the NATS adapter's subject; here only the message matters


async def test_submit_carries_trace_and_baggage(
    intake: RunIntake, publisher: InMemoryRunPublisher
) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        submission = await _submit(intake)
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert submission.state.trace_id == trace_id
    assert trace_id in submission.state.trace_context["traceparent"]
    headers = publisher.published[0].headers
    assert trace_id in headers["traceparent"]
    assert f"run_id={submission.state.run_id}" in headers["baggage"]
    assert "tenant=t1" in headers["baggage"]


async def test_same_key_returns_the_existing_run_without_a_second_request(
    intake: RunIntake, store: InMemoryRunStore, publisher: InMemoryRunPublisher
) -> None:
    first = await _submit(intake, key="k")
    store.runs[first.state.run_id] = first.state.model_copy(
        update={"status": RunStatus.WORKING, "seq": 3}
    )
    again = await _submit(intake, key="k")
    assert not again.created
    assert again.state.run_id == first.state.run_id == new_run_id("t1", "k")
    assert again.state.status is RunStatus.WORKING
    assert publisher.attempts == 1
    assert len(publisher.published) == 1


async def test_a_request_lost_after_the_state_was_written_is_sent_on_retry(
    intake: RunIntake, store: InMemoryRunStore, publisher: InMemoryRunPublisher, clock: Clock
) -> None:
    tracer = TracerProvider().get_tracer("test")
    publisher.available = False
    with (
        tracer.start_as_current_span("first request") as first_span,
        pytest.raises(BusUnavailableError),
    ):
        await _submit(intake, key="k")
    assert len(store.runs) == 1
    assert publisher.published == []

    publisher.available = True
    clock.now = T0 + timedelta(seconds=30)
    with tracer.start_as_current_span("retry") as retry_span:
        retried = await _submit(intake, key="k")
    assert not retried.created
    [published] = publisher.published
    assert published.message.run_id == retried.state.run_id
    # the resend joins the run's original trace, not the retrying request's
    first_trace = format(first_span.get_span_context().trace_id, "032x")
    assert retried.state.trace_id == first_trace
    assert first_trace in published.headers["traceparent"]
    assert format(retry_span.get_span_context().trace_id, "032x") != first_trace
    assert f"run_id={retried.state.run_id}" in published.headers["baggage"]


async def test_an_old_submitted_run_is_not_requested_again(
    intake: RunIntake, publisher: InMemoryRunPublisher, clock: Clock
) -> None:
    await _submit(intake, key="k")
    clock.now = T0 + timedelta(minutes=10)
    await _submit(intake, key="k")
    assert publisher.attempts == 1


async def test_a_run_id_held_by_another_tenant_is_refused(
    intake: RunIntake, store: InMemoryRunStore
) -> None:
    first = await _submit(intake, key="k")
    store.runs[first.state.run_id] = first.state.model_copy(update={"tenant": "intruder"})
    with pytest.raises(RunIdTakenError):
        await _submit(intake, key="k")


async def test_find_only_returns_the_callers_own_runs(intake: RunIntake) -> None:
    mine = await _submit(intake, tenant="t1")
    found = await intake.find(tenant="t1", run_id=mine.state.run_id)
    assert found is not None
    assert found.run_id == mine.state.run_id
    assert await intake.find(tenant="t2", run_id=mine.state.run_id) is None
    assert await intake.find(tenant="t1", run_id="missing") is None
    assert await intake.find(tenant="t1", run_id="not.a.key") is None


async def test_an_unreachable_store_is_a_typed_retryable_error(
    intake: RunIntake, store: InMemoryRunStore, publisher: InMemoryRunPublisher
) -> None:
    store.available = False
    with pytest.raises(BusUnavailableError) as caught:
        await _submit(intake)
    assert caught.value.retryable
    assert publisher.attempts == 0
