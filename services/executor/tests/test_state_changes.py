"""What each applied transition reports: the changes, their words, fields and durations."""

from __future__ import annotations

import json
import logging

import pytest

from pulse_contracts import ErrorCode, StepTimeoutDue
from pulse_executor.domain import (
    cancel_run,
    record_result,
    reject_run,
    restart_run,
    start_run,
    time_out_step,
)
from pulse_executor.state_changes import (
    StateChange,
    log_state_changes,
    run_life_started_at,
    state_changes,
)
from pulse_telemetry import JsonFormatter

from .domain.test_retries_and_timers import timer
from .domain.test_transitions import changed


def described(changes: list[StateChange]) -> list[tuple[str, str | None, str | None]]:
    return [
        (c.what, c.step_id, c.step_outcome or (c.run_status and c.run_status.value))
        for c in changes
    ]


def test_a_run_reports_start_dispatches_results_and_its_end(msgs) -> None:
    plan = msgs.plan({"id": "a", "tool": "calculator"}, {"id": "b", "depends_on": ["a"]})
    start = start_run(None, msgs.plan_created(plan), now=msgs.now(0))
    assert described(state_changes(start)) == [
        ("run started", None, "working"),
        ("step dispatched", "a", None),
    ]
    done_a = record_result(changed(start), msgs.finished("a", 15), now=msgs.now(2))
    changes = state_changes(done_a)
    assert described(changes) == [
        ("step completed", "a", "completed"),
        ("step dispatched", "b", None),
    ]
    completed = changes[0]
    assert (completed.tool, completed.attempt, completed.duration_s) == ("calculator", 1, 1.0)
    end = record_result(changed(done_a), msgs.finished("b", 1), now=msgs.now(4))
    assert described(state_changes(end))[-1] == ("run completed", None, "completed")
    # Created at tick 0 (the clock of `start_run`), ended at tick 4.
    assert state_changes(end)[-1].duration_s == 4.0


def test_failures_say_how_the_attempt_ended(msgs) -> None:
    plan = msgs.plan({"id": "a", "timeout_s": 5}, {"id": "b"})
    start = start_run(None, msgs.plan_created(plan), now=msgs.now(0))
    state = changed(start)
    flaky = record_result(state, msgs.finished("b", error="flaky", retryable=True), now=msgs.now(2))
    [retried] = state_changes(flaky)
    assert (retried.what, retried.step_outcome) == ("step retry scheduled", "retried")
    assert retried.error is not None
    assert retried.error.retryable
    assert dict(retried.details)["retry_at"].startswith("2030-01-01T00:00:02")

    due = timer(start, StepTimeoutDue, "a")
    assert isinstance(due, StepTimeoutDue)
    timed_out = state_changes(time_out_step(changed(flaky), due, now=due.due_at))
    assert described(timed_out) == [("step timed out", "a", "timed_out")]
    assert timed_out[0].error is not None
    assert timed_out[0].error.code is ErrorCode.TIMED_OUT

    final = record_result(state, msgs.finished("b", error="broken"), now=msgs.now(3))
    assert described(state_changes(final)) == [
        ("step failed", "b", "failed"),
        ("step canceled", "a", "canceled"),
        ("run failed", None, "failed"),
    ]
    canceled = state_changes(final)[1]
    assert canceled.duration_s == 3.0  # from its dispatch to the run's end


def test_cancel_restart_and_rejection_are_reported(msgs) -> None:
    start = start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now(0))
    canceled = cancel_run(changed(start), msgs.cancel(), now=msgs.now(5))
    assert described(state_changes(canceled)) == [
        ("step canceled", "a", "canceled"),
        ("run canceled", None, "canceled"),
    ]
    restarted = restart_run(changed(canceled), msgs.restart(), now=msgs.now(60))
    assert described(state_changes(restarted)) == [
        ("run restarted", None, "working"),
        ("step dispatched", "a", None),
    ]
    state = changed(restarted)
    assert run_life_started_at(state) == msgs.now(60)
    end = record_result(state, msgs.finished("a", 1, attempt=2), now=msgs.now(70))
    assert state_changes(end)[-1].duration_s == 10.0  # this life only

    rejected = reject_run(None, msgs.plan_rejected(run_id="other"), now=msgs.now(1))
    [change] = state_changes(rejected)
    assert (change.what, change.run_status, change.duration_s) == ("run rejected", "rejected", 0.0)
    assert change.error is not None
    assert change.error.code is ErrorCode.PLANNING_FAILED


def test_redeliveries_and_ignored_messages_report_nothing(msgs) -> None:
    start = start_run(None, msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now(0))
    again = start_run(changed(start), msgs.plan_created(msgs.plan({"id": "a"})), now=msgs.now(1))
    assert again.outcome == "duplicate"
    assert again.effects
    assert state_changes(again) == []
    stale = record_result(changed(start), msgs.finished("zz", 1), now=msgs.now(1))
    assert stale.outcome == "ignored"
    assert state_changes(stale) == []


class _JsonLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("executor"))
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def json_lines():
    handler = _JsonLines()
    logger = logging.getLogger("pulse_executor.state_changes")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.setLevel(level)
    logger.removeHandler(handler)


def test_one_json_line_per_change_with_a_typed_error_and_no_payloads(msgs, json_lines) -> None:
    plan = msgs.plan({"id": "a", "input": {"secret": "hunter2"}}, {"id": "b", "depends_on": ["a"]})
    start = start_run(None, msgs.plan_created(plan), now=msgs.now(0))
    failed = record_result(changed(start), msgs.finished("a", error="tool broke"), now=msgs.now(2))
    log_state_changes(state_changes(start) + state_changes(failed))

    assert [line["message"] for line in json_lines] == [
        "run started",
        "step dispatched",
        "step failed",
        "run failed",
    ]
    started, dispatched, step_failed, run_failed = json_lines
    assert "step_id" not in started
    assert (started["run_id"], started["tenant"], started["run_status"]) == (
        "run-1",
        "acme",
        "working",
    )
    assert (dispatched["step_id"], dispatched["tool"], dispatched["attempt"]) == ("a", "echo", 1)
    assert step_failed["duration_ms"] == 1000.0
    assert step_failed["step_status"] == "failed"
    assert step_failed["error"] == {
        "code": "tool_failed",
        "message": "tool broke",
        "retryable": False,
    }
    assert run_failed["duration_ms"] == 2000.0
    assert isinstance(run_failed["error"], dict)
    assert run_failed["error"]["code"] == "tool_failed"
    text = json.dumps(json_lines)
    assert "hunter2" not in text  # step inputs never reach a log line
    assert "do the thing" not in text  # nor the prompt
    assert all("input" not in line and "output" not in line for line in json_lines)
