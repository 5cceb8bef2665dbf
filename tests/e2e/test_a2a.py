"""A2A against the whole stack: the official a2a-sdk client and a2a-proof's contracts on
both bindings, with runs planned, executed and archived by the real services.

Its own stack, whose offline LLM takes a few seconds per call, so LLM runs are reliably
still working when they are canceled or subscribed to.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from a2a.client import Client, ClientConfig, create_client
from a2a.helpers import get_data_parts
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskNotFoundError,
    TaskState,
)

from pulse_stack.launcher import Stack
from pulse_stack.testing import NatsEndpoint, PostgresEndpoint, wipe_pulse_streams

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]

KEY_A, KEY_B = "a2a-e2e-key-a", "a2a-e2e-key-b"
BINDINGS = ["JSONRPC", "HTTP+JSON"]
LLM_LATENCY_MS = 2500
CONTRACT = Path(__file__).with_name("a2a_contract.yaml")
WORKFLOW = (
    "calculate 12 * 7 and calculate 100 / 4, then add both results as todos, then list all todos"
)


async def _create_database(admin_dsn: str) -> str:
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


@pytest.fixture(scope="module")
def a2a_stack(
    nats_server: NatsEndpoint,
    postgres_server: PostgresEndpoint,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    asyncio.run(wipe_pulse_streams(nats_server.url))
    database = asyncio.run(_create_database(postgres_server.admin_dsn))
    stack = Stack(
        state_dir=Path(tmp_path_factory.mktemp("a2a-stack")),
        nats_url=nats_server.url,
        database_url=postgres_server.url(database),
        api_keys=f"{KEY_A}=tenant-a,{KEY_B}=tenant-b",
        gateway_port=0,
        extra_env={
            "PULSE_OFFLINE_LATENCY_MS": str(LLM_LATENCY_MS),
            "PULSE_PLANNER_MODE": "rule",
            # Scenarios follow and cancel tasks that must still be running, and both bindings
            # send the same prompts: a cached answer would end the second one at once.
            "PULSE_LLM_CACHE": "false",
        },
    )
    with stack:
        yield stack


@asynccontextmanager
async def a2a(
    stack: Stack, binding: str, *, key: str = KEY_A, streaming: bool = True
) -> AsyncIterator[Client]:
    """The official client, configured from the gateway's agent card."""
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        config = ClientConfig(
            httpx_client=http, streaming=streaming, supported_protocol_bindings=[binding]
        )
        yield await create_client(stack.gateway_url, config)


def _message(text: str, *, now: bool = False) -> SendMessageRequest:
    request = SendMessageRequest(
        message=Message(message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[Part(text=text)])
    )
    if now:
        request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
    return request


async def _all(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    async with asyncio.timeout(90):
        return [response async for response in stream]


async def _submitted(client: Client, text: str) -> Task:
    [response] = await _all(client.send_message(_message(text, now=True)))
    return response.task


async def _rest_run(stack: Stack, run_id: str, key: str = KEY_A) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"}
    ) as http:
        response = await http.get(f"/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("binding", BINDINGS)
async def test_send_stream_get_list_and_cancel_real_runs(a2a_stack: Stack, binding: str) -> None:
    async with a2a(a2a_stack, binding, streaming=False) as client:
        [sent] = await _all(client.send_message(_message("calculate 6 * 7")))
        task = sent.task
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert get_data_parts(task.artifacts[0].parts) == [42.0]
        # The task IS the run: same id, same status, over REST.
        run = await _rest_run(a2a_stack, task.id)
        assert run["status"] == "completed"
        assert run["result"] == 42

    async with a2a(a2a_stack, binding) as streaming:
        responses = await _all(streaming.send_message(_message(WORKFLOW)))
    assert responses[0].task.status.state == TaskState.TASK_STATE_SUBMITTED
    workflow_id = responses[0].task.id
    assert responses[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    streamed = [
        r.artifact_update.artifact.artifact_id for r in responses if r.HasField("artifact_update")
    ]
    run = await _rest_run(a2a_stack, workflow_id)
    assert sorted(streamed) == sorted(step["step_id"] for step in run["steps"])

    async with a2a(a2a_stack, binding, streaming=False) as client:
        got = await client.get_task(GetTaskRequest(id=workflow_id))
        assert got.status.state == TaskState.TASK_STATE_COMPLETED
        assert [a.artifact_id for a in got.artifacts] == [step["step_id"] for step in run["steps"]]
        listed = await client.list_tasks(ListTasksRequest(page_size=100))
        assert {task.id, workflow_id} <= {t.id for t in listed.tasks}

        slow = await _submitted(client, "ask the llm to explain why caches need invalidation")
        canceled = await client.cancel_task(CancelTaskRequest(id=slow.id))
        assert canceled.status.state == TaskState.TASK_STATE_CANCELED
        assert (await _rest_run(a2a_stack, slow.id))["status"] == "canceled"


async def test_a_running_task_is_followed_and_kept_from_other_tenants(a2a_stack: Stack) -> None:
    async with (
        a2a(a2a_stack, "JSONRPC", streaming=False) as owner,
        a2a(a2a_stack, "HTTP+JSON") as owner_streaming,
        a2a(a2a_stack, "JSONRPC", key=KEY_B) as stranger,
        a2a(a2a_stack, "HTTP+JSON", key=KEY_B) as stranger_rest,
    ):
        task = await _submitted(owner, "ask the llm to explain what a DAG is")
        # Follow first: the stranger's checks below may outlast the LLM's answer, and a task
        # that has ended can no longer be subscribed to.
        following = owner_streaming.subscribe(SubscribeToTaskRequest(id=task.id))
        snapshot = await asyncio.wait_for(anext(following), 30)
        for other in (stranger, stranger_rest):
            with pytest.raises(TaskNotFoundError):
                await other.get_task(GetTaskRequest(id=task.id))
            with pytest.raises(TaskNotFoundError):
                await other.cancel_task(CancelTaskRequest(id=task.id))
            with pytest.raises(TaskNotFoundError):
                await _all(other.subscribe(SubscribeToTaskRequest(id=task.id)))
            assert task.id not in {
                t.id for t in (await other.list_tasks(ListTasksRequest(page_size=100))).tasks
            }
        followed = [snapshot, *await _all(following)]
    assert followed[0].task.id == task.id
    assert followed[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    assert (await _rest_run(a2a_stack, task.id))["status"] == "completed"


async def test_the_0_3_method_names_reach_the_same_runs(a2a_stack: Stack) -> None:
    message = {
        "kind": "message",
        "messageId": uuid.uuid4().hex,
        "role": "user",
        "parts": [{"kind": "text", "text": "calculate 2 * 21"}],
    }
    async with httpx.AsyncClient(
        base_url=a2a_stack.gateway_url, headers={"Authorization": f"Bearer {KEY_A}"}, timeout=60
    ) as http:
        sent = await http.post(
            "/a2a/jsonrpc",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "message/send",
                "params": {"message": message},
            },
        )
    task = sent.json()["result"]
    assert task["status"]["state"] == "completed"
    assert (await _rest_run(a2a_stack, task["id"]))["result"] == 42


def _proof_env(stack: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update({"PULSE_A2A_URL": stack.gateway_url, "PULSE_A2A_KEY": KEY_A, "NO_PROXY": "*"})
    return env


@pytest.mark.parametrize("binding", BINDINGS)
def test_a2a_proof_contracts_hold(a2a_stack: Stack, binding: str, tmp_path: Path) -> None:
    report = tmp_path / "a2a-proof.xml"
    proof = Path(sys.executable).with_name("a2a-proof")
    result = subprocess.run(
        [
            str(proof),
            "run",
            str(CONTRACT),
            "--transport",
            binding,
            "--format",
            "junit",
            "--output",
            str(report),
        ],
        env=_proof_env(a2a_stack),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.exists(), (
        f"no report (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    suite = ET.parse(report).getroot()
    problems = [
        f"{case.get('name')}: {(child.get('message') or '')[:500]}"
        for case in suite.iter("testcase")
        for child in case
        if child.tag in ("failure", "error")
    ]
    assert problems == [], "\n".join(problems)
    assert suite.get("failures") == "0"
    assert suite.get("errors") == "0"
    # The card and every scenario of the contract ran.
    assert int(suite.get("tests", "0")) == 6
    assert result.returncode == 0, result.stdout + result.stderr
