"""Large outputs through a real nats-server: the result carries a reference, the object
store holds the content, and a referenced input reaches the tool as its value."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from pulse_agent_adapter import Settings, create_app
from pulse_agent_adapter.domain import ToolContext
from pulse_contracts import (
    BlobRef,
    DispatchTask,
    JsonValue,
    TaskFinished,
    decode_blob,
    encode_blob,
    subjects,
)

pytestmark = pytest.mark.nats

TWO_MIB = 2 * 1024 * 1024


class EchoTool:
    """Returns its input as it reached the tool."""

    name = "test.echo"
    description = "test tool"
    input_schema: dict[str, JsonValue] = {"type": "object"}

    async def run(self, input: dict[str, JsonValue], ctx: ToolContext) -> JsonValue:
        return {"seen": input}


@dataclass
class Bus:
    nc: Client
    js: JetStreamContext

    async def dispatch(self, tool: str, **fields: object) -> None:
        task = DispatchTask.model_validate(
            {"message_id": "m", "run_id": "run-1", "tenant": "acme", "tool": tool, **fields}
        )
        await self.js.publish(
            subjects.dispatch_subject(task.agent),
            task.model_dump_json().encode(),
            stream=subjects.STREAM_TASKS,
            headers={"Nats-Msg-Id": f"{task.run_id}:{task.step_id}:{task.attempt}:dispatch"},
        )

    async def result(self, within_s: float = 30.0) -> TaskFinished:
        sub = await self.js.pull_subscribe(
            subjects.TASKS_RESULT, durable="test-results", stream=subjects.STREAM_TASKS
        )
        async with asyncio.timeout(within_s):
            while True:
                try:
                    [msg] = await sub.fetch(1, timeout=1)
                except NatsTimeout:
                    continue
                await msg.ack()
                return TaskFinished.model_validate_json(msg.data)

    async def stored(self, ref: BlobRef) -> bytes:
        store = await self.js.object_store(ref.bucket)
        return bytes((await store.get(ref.key)).data or b"")


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    settings = Settings(nats_url=nats_url, http_port=0, log_format="text")
    app = create_app(settings, extra_tools=[EchoTool()])
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_service() -> None:
        async with app.start_lifespan_context():
            started.set()
            await stop.wait()

    service = asyncio.create_task(run_service())
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({service, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if not started.is_set():
        waiting.cancel()
        await service
        raise RuntimeError("the agent-adapter did not start in time")
    nc = await nats.connect(nats_url)
    try:
        yield Bus(nc, nc.jetstream())
    finally:
        await nc.close()
        stop.set()
        await service


async def test_a_two_mib_output_travels_as_a_reference(bus: Bus) -> None:
    await bus.dispatch("text.repeat", step_id="big", input={"text": "ab", "times": TWO_MIB // 2})
    done = await bus.result()
    assert done.outcome == "succeeded", done.error
    assert done.output is None
    ref = done.output_ref
    assert ref is not None
    data = await bus.stored(ref)
    assert decode_blob(data) == "ab" * (TWO_MIB // 2)
    assert (ref.bucket, ref.size) == (subjects.OBJ_OUTPUTS, len(data))
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.key == f"run-1/big/1/output/{ref.sha256}"


async def test_a_small_output_stays_in_the_message(bus: Bus) -> None:
    await bus.dispatch("text.repeat", step_id="small", input={"text": "ab", "times": 3})
    done = await bus.result()
    assert (done.output, done.output_ref) == ("ababab", None)


async def test_a_referenced_input_reaches_the_tool_as_its_value(bus: Bus) -> None:
    value = {"rows": list(range(1000))}
    data = encode_blob(value)
    store = await bus.js.object_store(subjects.OBJ_OUTPUTS)
    await store.put("run-1/up/1/output/x", data)
    ref = BlobRef(
        bucket=subjects.OBJ_OUTPUTS,
        key="run-1/up/1/output/x",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    await bus.dispatch(
        "test.echo",
        step_id="down",
        input={"big": None, "n": 1},
        input_refs={"big": ref.model_dump()},
    )
    done = await bus.result()
    assert done.outcome == "succeeded", done.error
    assert done.output == {"seen": {"big": value, "n": 1}}


async def test_an_input_that_is_gone_fails_the_step(bus: Bus) -> None:
    ref = BlobRef(
        bucket=subjects.OBJ_OUTPUTS, key="run-1/up/1/output/gone", size=2, sha256="0" * 64
    )
    await bus.dispatch(
        "test.echo", step_id="down", input={"big": None}, input_refs={"big": ref.model_dump()}
    )
    done = await bus.result()
    assert done.outcome == "failed"
    assert done.error is not None
    assert done.error.code == "unresolved_reference"
    assert "gone" in done.error.message
