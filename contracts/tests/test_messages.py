from __future__ import annotations

import pytest
from pydantic import ValidationError

from pulse_contracts import (
    RUN_EVENT_ADAPTER,
    SCHEMA_VERSION,
    ErrorCode,
    PlanningFailed,
    RunCompleted,
    RunRequested,
    RunStatus,
    StepStatus,
    Usage,
    subjects,
    task_message_id,
)


def test_run_requested_round_trips_and_ignores_unknown_fields() -> None:
    raw = '{"message_id": "run:r1:requested", "run_id": "r1", "prompt": "hi", "added_later": 1}'
    msg = RunRequested.model_validate_json(raw)
    assert msg.schema_version == SCHEMA_VERSION
    assert msg.tenant == "default"
    assert RunRequested.model_validate_json(msg.model_dump_json()) == msg


@pytest.mark.parametrize("run_id", ["", "a.b", "a b", "x" * 65, "a>"])
def test_run_ids_are_subject_tokens(run_id: str) -> None:
    with pytest.raises(ValidationError):
        RunRequested(message_id="m", run_id=run_id, prompt="p")


def test_run_events_are_told_apart_by_type() -> None:
    event = RunCompleted(message_id="e", run_id="r", seq=4, result=15)
    parsed = RUN_EVENT_ADAPTER.validate_json(event.model_dump_json())
    assert isinstance(parsed, RunCompleted)
    assert parsed.result == 15


def test_statuses_follow_a2a_task_states() -> None:
    assert {s.value for s in RunStatus} == {
        "submitted",
        "working",
        "completed",
        "failed",
        "canceled",
        "rejected",
    }
    assert RunStatus.REJECTED.is_terminal
    assert not RunStatus.WORKING.is_terminal
    assert StepStatus.SKIPPED.is_terminal


def test_errors_carry_run_and_step() -> None:
    info = PlanningFailed("no rule for 'x'", run_id="r1").to_info()
    assert info.code is ErrorCode.PLANNING_FAILED
    assert info.run_id == "r1"
    assert "run_id=r1" in str(PlanningFailed("m", run_id="r1"))


def test_deterministic_ids_and_subjects() -> None:
    assert task_message_id("r", "s1", 2, "dispatch") == "r:s1:2:dispatch"
    assert subjects.run_events_subject("r1") == "pulse.runs.events.r1"
    assert subjects.dispatch_subject("default") == "pulse.tasks.dispatch.default"
    with pytest.raises(ValueError, match="subject token"):
        subjects.run_events_subject("a.b")


def test_streams_do_not_overlap() -> None:
    owned = [s for subs in subjects.STREAM_SUBJECTS.values() for s in subs]
    assert len(owned) == len(set(owned))
    assert not any(
        s.startswith("pulse.runs.events") for s in subjects.STREAM_SUBJECTS[subjects.STREAM_RUNS]
    )


def test_usage_adds_up() -> None:
    total = Usage(prompt_tokens=3, completion_tokens=4, cost_usd=0.1) + Usage(
        prompt_tokens=1, cost_usd=0.2
    )
    assert (total.prompt_tokens, total.completion_tokens) == (4, 4)
    assert total.cost_usd == pytest.approx(0.3)
