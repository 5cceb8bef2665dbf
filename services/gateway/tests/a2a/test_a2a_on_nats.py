"""A2A on the real gateway (uvicorn, lifespan, broker) against a real nats-server.

A simulated planner/executor reads `RunRequested` and `CancelRun` from PULSE_RUNS, writes
run state into `pulse_run_state` and publishes run events on PULSE_EVENTS, as the real
services do; the official a2a-sdk client talks to the gateway over HTTP. This is where
following a run's events from JetStream (replay, then live), listing from the bucket and
subscribing to a run the gateway did not start over A2A are proven.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import nats
import pytest
from a2a.client import Client, ClientConfig, create_client
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
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from pulse_contracts import CancelRun, RunEvent, RunRequested, RunState, RunStatus, subjects
from pulse_gateway import Settings, create_app
from pulse_stack.testing import serving as serving_app
from pulse_telemetry import setup_telemetry

from .simulation import KEY_A, KEY_B, SimulatedPulse

pytestmark = pytest.mark.nats

JSONRPC, REST = "JSONRPC", "HTTP+JSON"


class BusPulse(SimulatedPulse):
    """The simulation on the bus: PULSE_RUNS in, `pulse_run_state` and PULSE_EVENTS out."""

    def __init__(self, nc: NatsClient) -> None:
        self._js = nc.jetstream()

        async def load(run_id: str) -> RunState:
            entry = await (await self._js.key_value(subjects.KV_RUN_STATE)).get(run_id)
            assert entry.value is not None
            return RunState.model_validate_json(entry.value)

        async def save(state: RunState) -> None:
            bucket = await self._js.key_value(subjects.KV_RUN_STATE)
            await bucket.put(state.run_id, state.model_dump_json().encode())

        async def publish(event: RunEvent) -> None:
            await self._js.publish(
                subjects.run_events_subject(event.run_id),
                event.model_dump_json().encode(),
                stream=subjects.STREAM_EVENTS,
                headers={"Nats-Msg-Id": event.message_id},
            )

        super().__init__(load, save, publish)
        self.working: asyncio.Queue[str] = asyncio.Queue()

    async def _on_requested(self, msg: Msg) -> None:
        request = RunRequested.model_validate_json(msg.data)
        await self.start(request.run_id)
        await self.working.put(request.run_id)

    async def _on_cancel(self, msg: Msg) -> None:
        await self.cancel(CancelRun.model_validate_json(msg.data).run_id)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[BusPulse]:
        subs = [
            await self._js.subscribe(
                subject,
                stream=subjects.STREAM_RUNS,
                cb=handler,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
            )
            for subject, handler in (
                (subjects.RUNS_REQUESTED, self._on_requested),
                (subjects.RUNS_CANCEL, self._on_cancel),
            )
        ]
        try:
            yield self
        finally:
            for sub in subs:
                await sub.unsubscribe()


@asynccontextmanager
async def serving(nats_url: str) -> AsyncIterator[str]:
    """The gateway as `main()` runs it, on a free loopback port; yields its base URL."""
    settings = Settings(
        nats_url=nats_url,
        api_keys={KEY_A: "tenant-a", KEY_B: "tenant-b"},
        log_format="text",
        rate_limit_per_s=0,
    )
    app = create_app(settings, telemetry=setup_telemetry(settings, install_global=False))
    async with serving_app(app) as url:
        yield url


@pytest.fixture
async def gateway(nats_url: str) -> AsyncIterator[str]:
    async with serving(nats_url) as base_url:
        yield base_url


@pytest.fixture
async def pulse(nats_url: str, gateway: str) -> AsyncIterator[BusPulse]:
    nc = await nats.connect(nats_url)
    try:
        async with BusPulse(nc).running() as simulated:
            yield simulated
    finally:
        await nc.close()


@pytest.fixture
async def clients(gateway: str) -> AsyncIterator[dict[tuple[str, str, bool], Client]]:
    """The official client per (key, binding, streaming), over real HTTP."""
    opened: list[httpx.AsyncClient] = []
    made: dict[tuple[str, str, bool], Client] = {}
    for key in (KEY_A, KEY_B):
        for binding in (JSONRPC, REST):
            for streaming in (True, False):
                http = httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
                opened.append(http)
                config = ClientConfig(
                    httpx_client=http, streaming=streaming, supported_protocol_bindings=[binding]
                )
                made[key, binding, streaming] = await create_client(gateway, config)
    yield made
    for http in opened:
        await http.aclose()


def _message(text: str, *, now: bool = False) -> SendMessageRequest:
    request = SendMessageRequest(
        message=Message(message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[Part(text=text)])
    )
    if now:
        request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
    return request


async def _collect(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    async with asyncio.timeout(30):
        return [response async for response in stream]


async def _task(client: Client, text: str) -> Task:
    [response] = await _collect(client.send_message(_message(text, now=True)))
    return response.task


@pytest.mark.parametrize("binding", [JSONRPC, REST])
async def test_a_streamed_message_follows_the_run_on_the_bus(
    binding: str, clients: dict[tuple[str, str, bool], Client], pulse: BusPulse
) -> None:
    responses = await _collect(
        clients[KEY_A, binding, True].send_message(_message("calculate 5 * 3"))
    )
    assert responses[0].task.status.state == TaskState.TASK_STATE_SUBMITTED
    updates = [r.WhichOneof("payload") for r in responses[1:]]
    assert updates == [
        "status_update",
        "status_update",
        "artifact_update",
        "artifact_update",
        "status_update",
    ]
    assert responses[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    got = await clients[KEY_A, binding, False].get_task(GetTaskRequest(id=responses[0].task.id))
    assert got.status.state == TaskState.TASK_STATE_COMPLETED
    assert [a.artifact_id for a in got.artifacts] == ["calc", "say"]


async def test_a_run_started_over_rest_is_a_task_to_subscribe_to(
    gateway: str, clients: dict[tuple[str, str, bool], Client], pulse: BusPulse
) -> None:
    async with httpx.AsyncClient(
        base_url=gateway, headers={"Authorization": f"Bearer {KEY_A}"}
    ) as http:
        created = await http.post("/v1/runs", json={"prompt": "hold until told"})
    assert created.status_code == 202, created.text
    run_id = created.json()["run_id"]
    async with asyncio.timeout(20):
        while await pulse.working.get() != run_id:
            pass
    # Another tenant sees nothing of it.
    with pytest.raises(TaskNotFoundError):
        await _collect(clients[KEY_B, REST, True].subscribe(SubscribeToTaskRequest(id=run_id)))
    with pytest.raises(TaskNotFoundError):
        await clients[KEY_B, JSONRPC, False].get_task(GetTaskRequest(id=run_id))

    stream = clients[KEY_A, REST, True].subscribe(SubscribeToTaskRequest(id=run_id))
    async with asyncio.timeout(30):
        # The run ends only once the snapshot is here: a terminal task cannot be subscribed.
        snapshot = await anext(stream)
        await pulse.finish(run_id)
        responses = [snapshot, *[response async for response in stream]]
    assert responses[0].task.id == run_id
    assert responses[0].task.context_id == run_id  # a REST run is a context of its own
    assert responses[0].task.status.state == TaskState.TASK_STATE_WORKING
    assert [
        r.artifact_update.artifact.artifact_id for r in responses if r.HasField("artifact_update")
    ] == [
        "calc",
        "say",
    ]
    assert responses[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED


async def test_list_and_cancel_stay_within_the_tenant(
    clients: dict[tuple[str, str, bool], Client], pulse: BusPulse
) -> None:
    mine = await _task(clients[KEY_A, JSONRPC, False], "hold mine")
    theirs = await _task(clients[KEY_B, JSONRPC, False], "hold theirs")
    listed_a = await clients[KEY_A, REST, False].list_tasks(ListTasksRequest())
    listed_b = await clients[KEY_B, JSONRPC, False].list_tasks(ListTasksRequest())
    assert [t.id for t in listed_a.tasks] == [mine.id]
    assert [t.id for t in listed_b.tasks] == [theirs.id]

    with pytest.raises(TaskNotFoundError):
        await clients[KEY_B, REST, False].cancel_task(CancelTaskRequest(id=mine.id))
    canceled = await clients[KEY_A, REST, False].cancel_task(CancelTaskRequest(id=mine.id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    still = await clients[KEY_B, JSONRPC, False].get_task(GetTaskRequest(id=theirs.id))
    assert still.status.state == TaskState.TASK_STATE_WORKING
    # The run itself was canceled by the (simulated) executor, through PULSE_RUNS.
    state = await pulse._state(mine.id)
    assert state.status is RunStatus.CANCELED
