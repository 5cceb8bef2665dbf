"""Retries, cancel and restart in the archive: the events the executor emits for them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from pulse_archiver.domain import fold
from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    Plan,
    RunCanceled,
    RunCompleted,
    RunEvent,
    RunRestarted,
    RunStarted,
    RunStatus,
    StepCanceled,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    StepStatus,
    Usage,
    event_message_id,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
COMMON = {"run_id": "run-1", "tenant": "acme"}


def at(seq: int) -> datetime:
    return T0 + timedelta(seconds=seq)


def events() -> list[RunEvent]:
    """s1 fails (retry), is dispatched again and is in flight when the run is canceled;
    the run is restarted and completes with s1's third attempt."""
    plan = Plan.model_validate({"steps": [{"id": "s1", "tool": "llm.complete"}]})
    flaky = ErrorInfo(code=ErrorCode.TIMED_OUT, message="too slow", retryable=True)
    canceled = ErrorInfo(code=ErrorCode.CANCELED, message="no longer needed")
    used = Usage(prompt_tokens=5, completion_tokens=5)

    def step(seq: int, attempt: int, kind: str) -> dict:
        return {
            **COMMON,
            "message_id": event_message_id("run-1", kind, "s1", attempt),
            "occurred_at": at(seq),
            "seq": seq,
            "step_id": "s1",
            "attempt": attempt,
            "tool": "llm.complete",
        }

    def run(seq: int, kind: str, restarts: int = 0) -> dict:
        return {
            **COMMON,
            "message_id": event_message_id("run-1", kind, "-", restarts),
            "occurred_at": at(seq),
            "seq": seq,
        }

    return [
        RunStarted(**run(1, "run.started"), prompt="p", plan=plan, planner="rule-based"),
        StepDispatched(**step(2, 1, "step.dispatched"), input={"prompt": "hi"}),
        StepFailedEvent(
            **step(3, 1, "step.failed"),
            error=flaky,
            started_at=at(2),
            finished_at=at(3),
            retry_at=at(4),
        ),
        StepDispatched(**step(4, 2, "step.dispatched"), input={"prompt": "hi"}),
        StepCanceled(**step(5, 2, "step.canceled"), error=canceled, finished_at=at(5)),
        RunCanceled(**run(6, "run.canceled"), error=canceled, usage=used),
        RunRestarted(**run(7, "run.restarted", 1), restarts=1, steps=["s1"], usage=used),
        StepDispatched(**step(8, 3, "step.dispatched"), input={"prompt": "hi"}),
        StepCompleted(
            **step(9, 3, "step.completed"), output="hello", started_at=at(8), finished_at=at(9)
        ),
        RunCompleted(**run(10, "run.completed", 1), result="hello", usage=used),
    ]


def test_a_retried_canceled_and_restarted_run_folds_to_its_end_in_any_order() -> None:
    history = events()
    expected = fold(history)["run-1"]
    assert expected.run.status is RunStatus.COMPLETED
    assert (expected.run.result, expected.run.error) == ("hello", None)
    assert expected.run.prompt_tokens == 5
    [s1] = expected.steps
    assert (s1.status, s1.attempt, s1.output) == (StepStatus.COMPLETED, 3, "hello")
    for order in itertools.islice(itertools.permutations(history), 0, 5000, 97):
        assert fold(order)["run-1"] == expected


def test_each_stage_is_archived_as_the_executor_reports_it() -> None:
    history = events()
    retrying = fold(history[:3])["run-1"]
    assert retrying.steps[0].status is StepStatus.RETRYING
    canceled = fold(history[:6])["run-1"]
    assert canceled.run.status is RunStatus.CANCELED
    assert canceled.run.error == {
        "code": "canceled",
        "message": "no longer needed",
        "run_id": None,
        "step_id": None,
        "retryable": False,
    }
    assert canceled.steps[0].status is StepStatus.CANCELED
    restarted = fold(history[:7])["run-1"]
    assert (restarted.run.status, restarted.run.error) == (RunStatus.WORKING, None)
    assert restarted.run.prompt_tokens == 5


def test_a_run_completed_without_its_optional_steps_keeps_their_error() -> None:
    partial = ErrorInfo(code=ErrorCode.STEP_FAILED, message="steps failed: s1")
    history = [
        *events()[:1],
        RunCompleted(
            **COMMON,
            message_id=event_message_id("run-1", "run.completed"),
            occurred_at=at(2),
            seq=2,
            result={},
            error=partial,
        ),
    ]
    archived = fold(history)["run-1"]
    assert archived.run.status is RunStatus.COMPLETED
    assert archived.run.error == partial.model_dump(mode="json")
