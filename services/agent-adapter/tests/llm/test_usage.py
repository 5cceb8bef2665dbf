"""Usage rolled up per step, run, agent and tenant; written behind into KV."""

from __future__ import annotations

import nats
import pytest

from pulse_agent_adapter.llm.accounting import UsageLedger, UsageRecord, UsageRollup
from pulse_broker import ensure_kv
from pulse_contracts import Usage, subjects
from pulse_settings import ServiceSettings


def record(agent: str, step: str | None, tokens: int, **fields: object) -> UsageRecord:
    return UsageRecord(
        tenant=str(fields.get("tenant", "acme")),
        agent=agent,
        provider="p",
        model="m",
        usage=Usage(prompt_tokens=tokens, completion_tokens=1, cost_usd=tokens / 1000),
        run_id=fields.get("run_id", "run-1"),  # type: ignore[arg-type]
        step_id=step,
        cached=bool(fields.get("cached", False)),
    )


def test_records_fold_into_tenant_agent_and_run_documents() -> None:
    rollup = UsageRollup()
    rollup.add(record("default", "s1", 10))
    rollup.add(record("default", "s2", 20))
    rollup.add(record("judge", "s2", 5, cached=True))
    rollup.add(record("default", None, 7, run_id=None, tenant="globex"))
    docs = rollup.drain()
    assert set(docs) == {
        "tenant.acme",
        "tenant.globex",
        "agent.default",
        "agent.judge",
        "run.run-1",
    }
    tenant = docs["tenant.acme"]
    assert (tenant.calls, tenant.cached_calls, tenant.total.prompt_tokens) == (3, 1, 35)
    assert tenant.by["default"].prompt_tokens == 30
    assert tenant.by["judge"].prompt_tokens == 5
    run = docs["run.run-1"]
    assert run.by["s1"].prompt_tokens == 10
    assert run.by["s2"].prompt_tokens == 25
    assert docs["agent.default"].by == {
        "acme": Usage(prompt_tokens=30, completion_tokens=2, cost_usd=0.03),
        "globex": Usage(prompt_tokens=7, completion_tokens=1, cost_usd=0.007),
    }
    assert len(rollup) == 0


@pytest.mark.nats
async def test_the_ledger_merges_flushes_from_two_replicas(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        kv = await ensure_kv(nc.jetstream(), subjects.KV_LLM_USAGE, ServiceSettings())
        replicas = [UsageLedger(flush_every_s=60), UsageLedger(flush_every_s=60)]
        for ledger in replicas:
            ledger.bind(kv)
        for i in range(10):
            replicas[i % 2].record(record("default", f"s{i}", 10))
        for ledger in replicas:
            await ledger.flush()
        replicas[0].record(record("default", "s0", 10))
        await replicas[0].stop()  # stopping flushes what is pending
        doc = await replicas[1].read("run", "run-1")
        assert doc is not None
        assert doc.calls == 11
        assert doc.total.prompt_tokens == 110
        assert doc.by["s0"].prompt_tokens == 20
    finally:
        await nc.close()


@pytest.mark.nats
async def test_a_document_gone_from_the_bucket_is_written_anew(nats_url: str) -> None:
    # The ledger updates what it wrote last without reading it; when the stored document
    # went away meanwhile (purged, or aged out), that write fails and it starts over.
    nc = await nats.connect(nats_url)
    try:
        kv = await ensure_kv(nc.jetstream(), subjects.KV_LLM_USAGE, ServiceSettings())
        ledger = UsageLedger(flush_every_s=60)
        ledger.bind(kv)
        ledger.record(record("default", "s1", 10))
        await ledger.flush()
        await kv.purge("run.run-1")
        ledger.record(record("default", "s2", 5))
        await ledger.flush()
        doc = await ledger.read("run", "run-1")
        assert doc is not None
        assert (doc.calls, doc.total.prompt_tokens) == (1, 5)
        tenant = await ledger.read("tenant", "acme")
        assert tenant is not None
        assert (tenant.calls, tenant.total.prompt_tokens) == (2, 15)
    finally:
        await nc.close()
