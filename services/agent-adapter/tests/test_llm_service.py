"""The whole agent-adapter on a real nats-server: it publishes the tool catalogue, answers
LLM requests with the offline default, and rolls usage up into KV."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError

from pulse_agent_adapter import Settings, create_app
from pulse_agent_adapter.llm.accounting import UsageDoc
from pulse_contracts import LlmRequested, LlmResponded, ToolSpec, subjects

pytestmark = pytest.mark.nats


@pytest.fixture
async def adapter(nats_url: str) -> AsyncIterator[Client]:
    settings = Settings(nats_url=nats_url, http_port=0, log_format="text", llm_usage_flush_s=0.2)
    app = create_app(settings)
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
        yield nc
    finally:
        await nc.close()
        stop.set()
        await asyncio.wait_for(service, 30)


async def request(nc: Client, request: LlmRequested) -> LlmResponded:
    async with asyncio.timeout(20):
        while True:
            try:
                reply = await nc.request(
                    subjects.LLM_REQUESTS, request.model_dump_json().encode(), timeout=10
                )
                return LlmResponded.model_validate_json(reply.data)
            except NoRespondersError:
                # FastStream's lifespan context is entered before the broker starts (its
                # readiness comes later, from after_startup): the endpoint may not be up yet.
                await asyncio.sleep(0.05)


async def test_the_tool_catalogue_is_in_kv(adapter: Client) -> None:
    kv = await adapter.jetstream().key_value(subjects.KV_TOOLS)
    names = sorted(await kv.keys())
    assert names == [
        "calculator",
        "counter.increment",
        "http.get",
        "llm.batch",
        "llm.complete",
        "llm.judge",
        "text.extract_code",
        "text.repeat",
        "todo.add",
        "todo.list",
    ]
    entry = await kv.get("llm.complete")
    assert entry.value is not None
    spec = ToolSpec.model_validate_json(entry.value)
    assert spec.version == "1.1.0"
    assert spec.input_schema["required"] == ["prompt"]
    assert spec.output_schema == {"type": "string"}


async def test_llm_requests_are_answered_and_usage_rolled_up(adapter: Client) -> None:
    answer = await request(
        adapter,
        LlmRequested(
            message_id="plan-1",
            run_id="run-7",
            tenant="acme",
            messages=[{"role": "user", "content": "Plan: calculate 2 + 2"}],  # type: ignore[list-item]
        ),
    )
    assert answer.error is None
    assert (answer.provider, answer.model, answer.agent) == ("offline", "offline-1", "default")
    assert "calculate" in answer.text
    kv = await adapter.jetstream().key_value(subjects.KV_LLM_USAGE)
    async with asyncio.timeout(15):
        while True:
            try:
                entry = await kv.get("tenant.acme")
            except Exception:
                await asyncio.sleep(0.1)
                continue
            break
    assert entry.value is not None
    doc = UsageDoc.model_validate_json(entry.value)
    assert doc.calls == 1
    assert doc.total.prompt_tokens == answer.usage.prompt_tokens
    assert set(doc.by) == {"default"}
    run = await kv.get("run.run-7")
    assert run.value is not None
    assert UsageDoc.model_validate_json(run.value).total == answer.usage
