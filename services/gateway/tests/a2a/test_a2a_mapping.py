"""A run read as an A2A task, its events as task updates, ListTasks pages and the card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from a2a.helpers import get_artifact_text, get_data_parts, get_message_text
from a2a.types import (
    InvalidParamsError,
    ListTasksRequest,
    Message,
    Part,
    Role,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatusUpdateEvent,
)

from pulse_contracts import (
    BlobRef,
    ErrorCode,
    ErrorInfo,
    RunCanceled,
    RunCompleted,
    RunFailed,
    RunRejected,
    RunRestarted,
    RunStarted,
    RunState,
    RunStatus,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    StepState,
    StepStatus,
    ToolSpec,
    Usage,
)
from pulse_gateway.a2a import agent_card
from pulse_gateway.a2a.mapping import (
    RUN_STATUS_OF,
    TASK_STATE_OF,
    a2a_run_metadata,
    context_id_of,
    idempotency_key,
    initial_task,
    prompt_of,
    task_of,
)
from pulse_gateway.a2a.store import PageToken, select_runs, version_of
from pulse_gateway.a2a.updates import is_terminal_event, updates_of

from .simulation import OUTPUTS, PLAN

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _run(run_id: str = "run1", **changes: object) -> RunState:
    state = RunState(
        run_id=run_id, tenant="t", prompt="calculate 5 * 3", created_at=T0, updated_at=T0
    )
    return state.model_copy(update=changes)


def _completed() -> RunState:
    steps = {
        s.id: StepState(
            step_id=s.id,
            tool=s.tool,
            status=StepStatus.COMPLETED,
            attempt=1,
            output=OUTPUTS[s.id],
            usage=Usage(prompt_tokens=3),
        )
        for s in PLAN.steps
    }
    return _run(
        status=RunStatus.COMPLETED,
        plan=PLAN,
        planner="rule-based",
        steps=steps,
        result="Fifteen.",
        seq=5,
        trace_id="ab" * 16,
        metadata=a2a_run_metadata("ctx-1", "msg-1"),
    )


def test_run_statuses_are_task_states_one_to_one() -> None:
    assert set(TASK_STATE_OF) == set(RunStatus)
    assert {RUN_STATUS_OF[state] for state in TASK_STATE_OF.values()} == set(RunStatus)
    assert TASK_STATE_OF[RunStatus.REJECTED] == TaskState.TASK_STATE_REJECTED


def test_a_completed_run_is_a_task_with_one_artifact_per_step() -> None:
    task = task_of(_completed())
    assert (task.id, task.context_id) == ("run1", "ctx-1")
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert [a.artifact_id for a in task.artifacts] == ["calc", "say"]
    assert get_data_parts(task.artifacts[0].parts) == [15.0]
    assert get_artifact_text(task.artifacts[1]) == "Fifteen."
    assert task.artifacts[0].metadata["tool"] == "calculator"
    # The goal is the history; the result is the agent's last word.
    assert [m.role for m in task.history] == [Role.ROLE_USER]
    assert task.history[0].message_id == "msg-1"
    assert get_message_text(task.history[0]) == "calculate 5 * 3"
    assert task.status.message.role == Role.ROLE_AGENT
    assert get_message_text(task.status.message) == "Fifteen."
    assert task.status.message.message_id == "run1-completed-5"
    assert task.metadata["pulse"]["trace_id"] == "ab" * 16


def test_a_run_started_over_rest_is_its_own_context_and_steps_still_running_are_no_artifacts() -> (
    None
):
    state = _run(
        status=RunStatus.WORKING,
        plan=PLAN,
        steps={"calc": StepState(step_id="calc", tool="calculator", status=StepStatus.DISPATCHED)},
    )
    task = task_of(state)
    assert task.context_id == "run1" == context_id_of(state)
    assert task.status.state == TaskState.TASK_STATE_WORKING
    assert not task.status.HasField("message")
    assert list(task.artifacts) == []
    assert task.history[0].message_id == "run1-prompt"


def test_a_failed_run_says_why() -> None:
    error = ErrorInfo(code=ErrorCode.TOOL_FAILED, message="division by zero", step_id="calc")
    task = task_of(_run(status=RunStatus.FAILED, error=error, seq=4))
    assert task.status.state == TaskState.TASK_STATE_FAILED
    assert get_message_text(task.status.message) == "division by zero"
    assert get_data_parts(task.status.message.parts)[0]["code"] == "tool_failed"


def test_an_output_kept_in_the_object_store_is_a_reference() -> None:
    ref = BlobRef(
        bucket="pulse_outputs", key="run1/calc/1/output/" + "a" * 64, size=9, sha256="a" * 64
    )
    state = _completed()
    state.steps["calc"] = state.steps["calc"].model_copy(update={"output": None, "output_ref": ref})
    artifact = task_of(state).artifacts[0]
    assert get_data_parts(artifact.parts) == [{"output_ref": ref.model_dump(mode="json")}]


def _event_base(seq: int) -> dict[str, object]:
    return {"message_id": f"e{seq}", "run_id": "run1", "tenant": "t", "seq": seq, "occurred_at": T0}


def test_events_become_status_and_artifact_updates() -> None:
    started = RunStarted(**_event_base(1), prompt="p", plan=PLAN, planner="rule-based")
    dispatched = StepDispatched(
        **_event_base(2), step_id="calc", attempt=1, tool="calculator", input={}
    )
    completed = StepCompleted(
        **_event_base(3),
        step_id="calc",
        attempt=1,
        tool="calculator",
        output=15,
        started_at=T0,
        finished_at=T0,
    )
    error = ErrorInfo(code=ErrorCode.TIMED_OUT, message="too slow", retryable=True)
    failed = StepFailedEvent(
        **_event_base(4),
        step_id="say",
        attempt=1,
        tool="llm.complete",
        error=error,
        started_at=T0,
        finished_at=T0,
        retry_at=T0 + timedelta(seconds=1),
    )
    done = RunCompleted(**_event_base(5), result="Fifteen.")

    [status] = updates_of(started, "ctx")
    assert isinstance(status, TaskStatusUpdateEvent)
    assert (status.task_id, status.context_id) == ("run1", "ctx")
    assert status.status.state == TaskState.TASK_STATE_WORKING
    assert status.metadata["pulse_event"]["steps"] == ["calc", "say"]

    [status] = updates_of(dispatched, "ctx")
    assert isinstance(status, TaskStatusUpdateEvent)
    assert status.metadata["pulse_event"]["step_id"] == "calc"

    [artifact] = updates_of(completed, "ctx")
    assert isinstance(artifact, TaskArtifactUpdateEvent)
    assert artifact.artifact.artifact_id == "calc"
    assert artifact.last_chunk
    assert get_data_parts(artifact.artifact.parts) == [15.0]

    [status] = updates_of(failed, "ctx")
    assert isinstance(status, TaskStatusUpdateEvent)
    assert status.status.state == TaskState.TASK_STATE_WORKING
    assert status.metadata["pulse_event"]["error"]["code"] == "timed_out"
    assert "retry_at" in status.metadata["pulse_event"]

    [final] = updates_of(done, "ctx")
    assert isinstance(final, TaskStatusUpdateEvent)
    assert final.status.state == TaskState.TASK_STATE_COMPLETED
    # The same message the run's state shows once it ended.
    assert final.status.message.message_id == "run1-completed-5"
    assert not any(is_terminal_event(e) for e in (started, dispatched, completed, failed))
    assert is_terminal_event(done)


@pytest.mark.parametrize(
    ("event", "state"),
    [
        (
            RunFailed(**_event_base(3), error=ErrorInfo(code=ErrorCode.STEP_FAILED, message="x")),
            TaskState.TASK_STATE_FAILED,
        ),
        (
            RunCanceled(**_event_base(3), error=ErrorInfo(code=ErrorCode.CANCELED, message="x")),
            TaskState.TASK_STATE_CANCELED,
        ),
        (
            RunRejected(
                **_event_base(1),
                prompt="p",
                error=ErrorInfo(code=ErrorCode.PLANNING_FAILED, message="x"),
            ),
            TaskState.TASK_STATE_REJECTED,
        ),
    ],
)
def test_every_ending_is_a_terminal_state(
    event: RunFailed | RunCanceled | RunRejected, state: TaskState
) -> None:
    [update] = updates_of(event, "ctx")
    assert isinstance(update, TaskStatusUpdateEvent)
    assert update.status.state == state
    assert get_message_text(update.status.message) == "x"
    assert is_terminal_event(event)


def test_a_restart_works_again() -> None:
    restarted = RunRestarted(**_event_base(7), restarts=1, steps=["say"])
    [update] = updates_of(restarted, "ctx")
    assert isinstance(update, TaskStatusUpdateEvent)
    assert update.status.state == TaskState.TASK_STATE_WORKING


def test_ids_and_goal() -> None:
    assert idempotency_key("m-1") == "a2a:m-1"
    long = idempotency_key("x" * 1000)
    assert long.startswith("a2a:sha256:")
    assert len(long) < 256
    message = Message(
        message_id="m",
        role=Role.ROLE_USER,
        parts=[Part(text="calculate 1 + 1"), Part(text="then list all todos")],
    )
    assert prompt_of(message) == "calculate 1 + 1\nthen list all todos"
    task = initial_task(run_id="r", context_id="c", message=message, now=T0)
    assert task.status.state == TaskState.TASK_STATE_SUBMITTED
    assert (task.history[0].task_id, task.history[0].context_id) == ("r", "c")
    assert version_of(_run(seq=0)).is_after(version_of(_run(seq=0))) is False
    assert version_of(_run(seq=3)).is_after(version_of(_run(seq=2)))


def _runs() -> list[RunState]:
    runs = []
    for i in range(5):
        status = RunStatus.COMPLETED if i % 2 else RunStatus.WORKING
        metadata = a2a_run_metadata("ctx-odd" if i % 2 else "ctx-even", f"m{i}")
        runs.append(
            _run(f"r{i}", status=status, updated_at=T0 + timedelta(seconds=i), metadata=metadata)
        )
    return runs


def test_list_pages_newest_update_first_and_filters() -> None:
    runs = _runs()
    page, token, total, size = select_runs(runs, ListTasksRequest(page_size=2))
    assert [s.run_id for s in page] == ["r4", "r3"]
    assert (total, size) == (5, 2)
    page, token, _, _ = select_runs(runs, ListTasksRequest(page_size=2, page_token=token))
    assert [s.run_id for s in page] == ["r2", "r1"]
    page, token, _, _ = select_runs(runs, ListTasksRequest(page_size=2, page_token=token))
    assert [s.run_id for s in page] == ["r0"]
    assert token == ""

    page, _, total, _ = select_runs(runs, ListTasksRequest(status=TaskState.TASK_STATE_COMPLETED))
    assert [s.run_id for s in page] == ["r3", "r1"]
    assert total == 2
    page, _, _, _ = select_runs(runs, ListTasksRequest(context_id="ctx-even"))
    assert [s.run_id for s in page] == ["r4", "r2", "r0"]
    after = ListTasksRequest()
    after.status_timestamp_after.FromDatetime(T0 + timedelta(seconds=3))
    assert [s.run_id for s in select_runs(runs, after)[0]] == ["r4", "r3"]


def test_a_page_token_is_checked() -> None:
    with pytest.raises(InvalidParamsError):
        select_runs(_runs(), ListTasksRequest(page_token="not-a-token"))
    assert PageToken.decode(PageToken(T0, "r1").encode()) == PageToken(T0, "r1")


def test_the_card_names_both_bindings_in_both_versions_and_the_skills() -> None:
    card = agent_card(
        "https://pulse.example",
        version="1.2.3",
        tools=[ToolSpec(name="calculator", description="Math.")],
    )
    interfaces = {
        (i.protocol_binding, i.protocol_version, i.url) for i in card.supported_interfaces
    }
    assert interfaces == {
        ("JSONRPC", "1.0", "https://pulse.example/a2a/jsonrpc"),
        ("HTTP+JSON", "1.0", "https://pulse.example/a2a/rest"),
        ("JSONRPC", "0.3", "https://pulse.example/a2a/jsonrpc"),
        ("HTTP+JSON", "0.3", "https://pulse.example/a2a/rest"),
    }
    assert card.supported_interfaces[0].protocol_version == "1.0"
    skills = {skill.id for skill in card.skills}
    assert {"calculate", "todos", "llm", "count", "workflow", "tool:calculator"} <= skills
    assert card.capabilities.streaming
    assert not card.capabilities.push_notifications
    assert card.security_schemes["apiKey"].http_auth_security_scheme.scheme == "Bearer"
