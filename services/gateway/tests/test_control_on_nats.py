"""Cancel and restart through the real gateway: commands land in PULSE_RUNS for the executor."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from pulse_contracts import CancelRun, Plan, RestartRun, RunState, RunStatus, subjects

from .test_gateway_on_nats import AUTH, LiveGateway, serving

pytestmark = pytest.mark.nats


@pytest.fixture
async def gateway(nats_url: str) -> AsyncIterator[LiveGateway]:
    async with serving(nats_url) as live:
        yield live


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def _commands(js: JetStreamContext, subject: str) -> list[tuple[bytes, dict[str, str]]]:
    info = await js.stream_info(subjects.STREAM_RUNS)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        raw = await js.get_msg(subjects.STREAM_RUNS, seq)
        if raw.subject == subject and raw.data is not None:
            found.append((raw.data, dict(raw.headers or {})))
    return found


async def _store(js: JetStreamContext, status: RunStatus, seq: int) -> None:
    kv = await js.key_value(subjects.KV_RUN_STATE)
    state = RunState(
        run_id="run-c",
        tenant="tenant-n",
        prompt="p",
        status=status,
        plan=Plan.model_validate({"steps": [{"id": "a", "tool": "calculator"}]}),
        seq=seq,
    )
    await kv.put("run-c", state.model_dump_json().encode())


async def test_cancel_then_restart_publish_their_commands(
    gateway: LiveGateway, js: JetStreamContext
) -> None:
    await _store(js, RunStatus.WORKING, 3)
    response = await gateway.http.post("/v1/runs/run-c/cancel", headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "working"
    assert (await gateway.http.post("/v1/runs/run-c/cancel", headers=AUTH)).status_code == 202
    [(body, headers)] = await _commands(js, subjects.RUNS_CANCEL)
    cancel = CancelRun.model_validate_json(body)
    assert (cancel.run_id, cancel.tenant) == ("run-c", "tenant-n")
    assert headers["Nats-Msg-Id"] == cancel.message_id == "run:run-c:cancel:3"
    assert "traceparent" in headers

    assert (await gateway.http.post("/v1/runs/run-c/restart", headers=AUTH)).status_code == 409

    await _store(js, RunStatus.CANCELED, 5)
    assert (await gateway.http.post("/v1/runs/run-c/cancel", headers=AUTH)).status_code == 409
    response = await gateway.http.post("/v1/runs/run-c/restart", headers=AUTH)
    assert response.status_code == 202, response.text
    [(body, headers)] = await _commands(js, subjects.RUNS_RESTART)
    restart = RestartRun.model_validate_json(body)
    assert (restart.message_id, restart.if_seq) == ("run:run-c:restart:5", 5)
