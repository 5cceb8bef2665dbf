"""A2A end to end inside one process: the official a2a-sdk client, both bindings, the
gateway app over in-memory backends, and a simulated planner/executor moving the runs."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from a2a.client import A2AClientError, Client
from a2a.helpers import get_artifact_text, get_data_parts, get_message_text
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    InvalidParamsError,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskNotCancelableError,
    TaskNotFoundError,
    TaskState,
    UnsupportedOperationError,
)
from a2a.utils.constants import TransportProtocol

from pulse_contracts import CancelRun, RunStatus
from pulse_gateway.adapters import InMemoryRunPublisher, InMemoryRunQueue
from pulse_gateway.wiring import Backends

from .simulation import KEY_B, ClientFor, InMemoryPulse, run_of, wait_until

pytestmark = pytest.mark.usefixtures("pulse")

BINDINGS = [TransportProtocol.JSONRPC.value, TransportProtocol.HTTP_JSON.value]


def _message(text: str, **ids: str) -> SendMessageRequest:
    message = Message(
        message_id=ids.pop("message_id", uuid.uuid4().hex),
        role=Role.ROLE_USER,
        parts=[Part(text=text)],
        **ids,
    )
    return SendMessageRequest(message=message)


async def _send(client: Client, request: SendMessageRequest) -> list[StreamResponse]:
    async with asyncio.timeout(20):
        return [response async for response in client.send_message(request)]


async def _started(client: Client, text: str) -> Task:
    """A task the simulated executor holds in `working` (return_immediately; `client`
    must not stream, or the answer lasts as long as the task)."""
    request = _message(text)
    request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
    [response] = await _send(client, request)
    return response.task


async def _subscribed(client: Client, task_id: str) -> list[StreamResponse]:
    async with asyncio.timeout(20):
        return [r async for r in client.subscribe(SubscribeToTaskRequest(id=task_id))]


def _state(task: Task) -> str:
    return TaskState.Name(task.status.state)


# --- the card --------------------------------------------------------------------------------
async def test_the_agent_card_is_public_and_names_its_interfaces(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/agent-card.json", headers={"Authorization": ""})
    assert response.status_code == 200
    card = response.json()
    interfaces = {
        (i["protocolBinding"], i["protocolVersion"], i["url"]) for i in card["supportedInterfaces"]
    }
    assert interfaces == {
        ("JSONRPC", "1.0", "http://gateway.test/a2a/jsonrpc"),
        ("HTTP+JSON", "1.0", "http://gateway.test/a2a/rest"),
        ("JSONRPC", "0.3", "http://gateway.test/a2a/jsonrpc"),
        ("HTTP+JSON", "0.3", "http://gateway.test/a2a/rest"),
    }
    # The 0.3 fields, for clients that read only those.
    assert card["url"] == "http://gateway.test/a2a/jsonrpc"
    assert card["protocolVersion"] == "0.3"
    skills = {skill["id"] for skill in card["skills"]}
    assert {"calculate", "workflow", "tool:calculator"} <= skills
    assert card["capabilities"]["streaming"] is True


# --- send, stream, get, list, cancel, subscribe on both bindings -------------------------------------
@pytest.mark.parametrize("binding", BINDINGS)
async def test_send_runs_the_goal_and_answers_with_the_finished_task(
    binding: str, a2a_client: ClientFor, backends: Backends
) -> None:
    client = await a2a_client(binding, streaming=False)
    request = _message("calculate 5 * 3, then say it")
    [response] = await _send(client, request)
    task = response.task
    assert _state(task) == "TASK_STATE_COMPLETED"
    run = run_of(backends, task.id)
    assert run.tenant == "tenant-a"
    assert run.status is RunStatus.COMPLETED
    assert run.metadata["a2a"] == {
        "context_id": task.context_id,
        "message_id": request.message.message_id,
    }
    assert [a.artifact_id for a in task.artifacts] == ["calc", "say"]
    assert get_data_parts(task.artifacts[0].parts) == [15.0]
    assert get_artifact_text(task.artifacts[1]) == "Fifteen."
    assert get_message_text(task.status.message) == "Fifteen."
    # The run went through the gateway's intake, like POST /v1/runs.
    assert isinstance(backends.publisher, InMemoryRunPublisher)
    [requested] = [p.message for p in backends.publisher.published if p.message.run_id == task.id]
    assert requested.idempotency_key == f"a2a:{request.message.message_id}"


@pytest.mark.parametrize("binding", BINDINGS)
async def test_stream_sends_the_task_then_progress_then_the_end(
    binding: str, a2a_client: ClientFor
) -> None:
    client = await a2a_client(binding)
    responses = await _send(client, _message("calculate 5 * 3, then say it"))
    kinds = [r.WhichOneof("payload") for r in responses]
    assert kinds[0] == "task"
    assert _state(responses[0].task) == "TASK_STATE_SUBMITTED"
    task_id = responses[0].task.id
    states = [
        TaskState.Name(r.status_update.status.state)
        for r in responses
        if r.HasField("status_update")
    ]
    assert states[0] == "TASK_STATE_WORKING"
    assert states[-1] == "TASK_STATE_COMPLETED"
    artifacts = [
        r.artifact_update.artifact.artifact_id for r in responses if r.HasField("artifact_update")
    ]
    assert artifacts == ["calc", "say"]
    assert all(r.status_update.task_id == task_id for r in responses if r.HasField("status_update"))
    assert kinds[-1] == "status_update"


@pytest.mark.parametrize("binding", BINDINGS)
async def test_get_reads_the_task_from_the_run(
    binding: str, a2a_client: ClientFor, pulse: InMemoryPulse
) -> None:
    client = await a2a_client(binding, streaming=False)
    task = await _started(client, "hold calculate 5 * 3")
    await wait_until(lambda: pulse.store.runs[task.id].status is RunStatus.WORKING)
    got = await client.get_task(GetTaskRequest(id=task.id))
    assert _state(got) == "TASK_STATE_WORKING"
    assert got.context_id == task.context_id
    await pulse.finish(task.id)
    got = await client.get_task(GetTaskRequest(id=task.id, history_length=0))
    assert _state(got) == "TASK_STATE_COMPLETED"
    assert [a.artifact_id for a in got.artifacts] == ["calc", "say"]
    assert list(got.history) == []
    with pytest.raises(TaskNotFoundError):
        await client.get_task(GetTaskRequest(id=uuid.uuid4().hex))


@pytest.mark.parametrize("binding", BINDINGS)
async def test_list_shows_the_tenants_tasks_newest_first(
    binding: str, a2a_client: ClientFor
) -> None:
    client = await a2a_client(binding, streaming=False)
    first = (await _send(client, _message("calculate 1 + 1")))[0].task
    second = (await _send(client, _message("calculate 2 + 2")))[0].task
    held = await _started(client, "hold it")
    page = await client.list_tasks(ListTasksRequest(page_size=2))
    assert [t.id for t in page.tasks] == [held.id, second.id]
    assert page.total_size == 3
    rest = await client.list_tasks(ListTasksRequest(page_size=2, page_token=page.next_page_token))
    assert [t.id for t in rest.tasks] == [first.id]
    assert rest.next_page_token == ""
    completed = await client.list_tasks(ListTasksRequest(status=TaskState.TASK_STATE_COMPLETED))
    assert {t.id for t in completed.tasks} == {first.id, second.id}
    in_context = await client.list_tasks(ListTasksRequest(context_id=second.context_id))
    assert [t.id for t in in_context.tasks] == [second.id]


@pytest.mark.parametrize("binding", BINDINGS)
async def test_cancel_asks_the_executor_and_answers_with_the_canceled_task(
    binding: str, a2a_client: ClientFor, backends: Backends
) -> None:
    client = await a2a_client(binding, streaming=False)
    task = await _started(client, "hold a long goal")
    canceled = await client.cancel_task(CancelTaskRequest(id=task.id))
    assert _state(canceled) == "TASK_STATE_CANCELED"
    assert get_message_text(canceled.status.message) == "canceled on request"
    # The same command POST /v1/runs/{id}/cancel sends.
    commands = [c for c in backends.control.published if c.run_id == task.id]  # type: ignore[attr-defined]
    assert len(commands) == 1
    assert isinstance(commands[0], CancelRun)
    assert run_of(backends, task.id).status is RunStatus.CANCELED
    with pytest.raises(TaskNotCancelableError):
        await client.cancel_task(CancelTaskRequest(id=task.id))


@pytest.mark.parametrize("binding", BINDINGS)
async def test_subscribe_replays_the_snapshot_then_follows_to_the_end(
    binding: str, a2a_client: ClientFor, pulse: InMemoryPulse
) -> None:
    starter = await a2a_client(binding, streaming=False)
    task = await _started(starter, "hold and then finish")
    await wait_until(lambda: pulse.store.runs[task.id].status is RunStatus.WORKING)
    subscriber = await a2a_client(binding)

    following = asyncio.create_task(_subscribed(subscriber, task.id))
    await asyncio.sleep(0.2)
    await pulse.finish(task.id)
    responses = await asyncio.wait_for(following, 10)
    assert responses[0].WhichOneof("payload") == "task"
    assert responses[0].task.id == task.id
    assert responses[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    artifacts = [
        r.artifact_update.artifact.artifact_id for r in responses if r.HasField("artifact_update")
    ]
    assert artifacts == ["calc", "say"]


# --- tenants -------------------------------------------------------------------------------------
@pytest.mark.parametrize("binding", BINDINGS)
async def test_a_tenant_cannot_reach_another_tenants_task(
    binding: str, a2a_client: ClientFor, backends: Backends
) -> None:
    owner = await a2a_client(binding, streaming=False)
    task = await _started(owner, "hold my private goal")
    stranger = await a2a_client(binding, key=KEY_B)
    with pytest.raises(TaskNotFoundError):
        await stranger.get_task(GetTaskRequest(id=task.id))
    with pytest.raises(TaskNotFoundError):
        await stranger.cancel_task(CancelTaskRequest(id=task.id))
    with pytest.raises(TaskNotFoundError):
        await _subscribed(stranger, task.id)
    assert task.id not in {t.id for t in (await stranger.list_tasks(ListTasksRequest())).tasks}
    assert task.id in {t.id for t in (await owner.list_tasks(ListTasksRequest())).tasks}
    # Nothing reached the run: no command, still working.
    assert not [c for c in backends.control.published if c.run_id == task.id]  # type: ignore[attr-defined]
    assert run_of(backends, task.id).status is RunStatus.WORKING


async def test_the_same_message_id_from_another_tenant_is_another_task(
    a2a_client: ClientFor,
) -> None:
    request = _message("calculate 5 * 3", message_id="shared-id")
    mine = (await _send(await a2a_client(BINDINGS[0], streaming=False), request))[0].task
    theirs = (await _send(await a2a_client(BINDINGS[0], key=KEY_B, streaming=False), request))[
        0
    ].task
    assert mine.id != theirs.id


@pytest.mark.parametrize("path", ["/a2a/jsonrpc", "/a2a/rest/message:send"])
@pytest.mark.parametrize("key", [None, "not-a-key"])
async def test_without_a_known_key_nothing_is_answered(
    http: httpx.AsyncClient, path: str, key: str | None
) -> None:
    headers = {"Authorization": f"Bearer {key}" if key else ""}
    response = await http.post(
        path, json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks"}, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


# --- what Pulse refuses ----------------------------------------------------------------------------
async def test_a_follow_up_message_is_refused(a2a_client: ClientFor) -> None:
    client = await a2a_client(BINDINGS[0], streaming=False)
    task = await _started(client, "hold on")
    with pytest.raises(UnsupportedOperationError):
        await _send(client, _message("and more", task_id=task.id, context_id=task.context_id))


async def test_a_message_without_a_goal_is_invalid(
    a2a_client: ClientFor, backends: Backends
) -> None:
    client = await a2a_client(BINDINGS[1], streaming=False)
    with pytest.raises(InvalidParamsError):
        await _send(client, _message("   "))
    assert isinstance(backends.publisher, InMemoryRunPublisher)
    assert backends.publisher.published == []


async def test_a_goal_the_planner_refuses_is_a_rejected_task(a2a_client: ClientFor) -> None:
    client = await a2a_client(BINDINGS[0], streaming=False)
    task = (await _send(client, _message("refuse this")))[0].task
    assert _state(task) == "TASK_STATE_REJECTED"
    assert get_message_text(task.status.message) == "not a goal I know"


async def test_a_resent_message_reaches_the_same_run(
    a2a_client: ClientFor, backends: Backends
) -> None:
    client = await a2a_client(BINDINGS[0], streaming=False)
    request = _message("hold the resend", message_id="resent-once")
    request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
    first = (await _send(client, request))[0].task
    again = (await _send(client, request))[0].task
    assert again.id == first.id
    assert again.context_id == first.context_id
    assert isinstance(backends.publisher, InMemoryRunPublisher)
    assert len([p for p in backends.publisher.published if p.message.run_id == first.id]) == 1


async def test_back_pressure_refuses_new_runs_over_a2a(
    a2a_client: ClientFor, backends: Backends, http: httpx.AsyncClient
) -> None:
    assert isinstance(backends.queue, InMemoryRunQueue)
    backends.queue.depth = 1_000
    client = await a2a_client(BINDINGS[1], streaming=False)
    with pytest.raises(A2AClientError, match="503"):
        await _send(client, _message("calculate 1 + 1"))
    response = await http.post(
        "/a2a/jsonrpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}},
        headers={"A2A-Version": "1.0"},
    )
    assert response.status_code == 503
    assert "retry-after" in response.headers
    # Reading is not starting a run.
    assert (await client.list_tasks(ListTasksRequest())).tasks == []


# --- A2A 0.3 --------------------------------------------------------------------------------------
async def test_the_0_3_json_rpc_method_names_work_without_a_version_header(
    http: httpx.AsyncClient,
) -> None:
    message = {
        "kind": "message",
        "messageId": uuid.uuid4().hex,
        "role": "user",
        "parts": [{"kind": "text", "text": "calculate 5 * 3"}],
    }
    sent = await http.post(
        "/a2a/jsonrpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": message}},
    )
    assert sent.status_code == 200
    task = sent.json()["result"]
    assert task["kind"] == "task"
    assert task["status"]["state"] == "completed"
    got = await http.post(
        "/a2a/jsonrpc",
        json={"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"id": task["id"]}},
    )
    assert got.json()["result"]["artifacts"][0]["artifactId"] == "calc"
    canceled = await http.post(
        "/a2a/jsonrpc",
        json={"jsonrpc": "2.0", "id": 3, "method": "tasks/cancel", "params": {"id": task["id"]}},
    )
    assert "error" in canceled.json()  # it has already ended
    # 1.0 method names need the 1.0 header.
    refused = await http.post(
        "/a2a/jsonrpc",
        json={"jsonrpc": "2.0", "id": 4, "method": "GetTask", "params": {"id": task["id"]}},
    )
    assert refused.json()["error"]["code"] != 0


async def test_the_0_3_streaming_and_rest_paths_work(http: httpx.AsyncClient) -> None:
    message = {
        "kind": "message",
        "messageId": uuid.uuid4().hex,
        "role": "user",
        "parts": [{"kind": "text", "text": "calculate 5 * 3"}],
    }
    streamed = await http.post(
        "/a2a/jsonrpc",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "message/stream",
            "params": {"message": message},
        },
    )
    assert streamed.headers["content-type"].startswith("text/event-stream")
    results = [
        json.loads(line[5:])["result"]
        for line in streamed.text.splitlines()
        if line.startswith("data:")
    ]
    assert results[0]["kind"] == "task"
    assert [r["kind"] for r in results[1:]].count("artifact-update") == 2
    assert results[-1]["final"] is True
    assert results[-1]["status"]["state"] == "completed"
    # The 0.3 HTTP+JSON binding speaks the 0.3 protobuf JSON.
    request = {
        "request": {
            "messageId": uuid.uuid4().hex,
            "role": "ROLE_USER",
            "content": [{"text": "calculate 5 * 3"}],
        }
    }
    sent = await http.post("/a2a/rest/v1/message:send", json=request)
    assert sent.status_code == 200, sent.text
    task = sent.json()["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    got = await http.get(f"/a2a/rest/v1/tasks/{task['id']}")
    assert got.json()["artifacts"][0]["artifactId"] == "calc"
