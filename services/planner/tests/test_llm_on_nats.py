"""The LLM planner as it runs: the app under uvicorn in `auto` mode on a real nats-server.

The LLM is a test double that speaks the real protocol: a subscriber in the
agent-adapter's queue group on `LLM_REQUESTS` answering each `LlmRequested` with a
scripted `LlmResponded`. NATS, JetStream, the KV buckets and the app are all real.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import nats
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import NotFoundError

from pulse_broker import publish, server_caught_up
from pulse_contracts import (
    ErrorCode,
    ErrorInfo,
    LlmRequested,
    LlmResponded,
    PlanCreated,
    PlanRejected,
    RunRequested,
    ToolSpec,
    subjects,
)
from pulse_planner import PlannerSettings, create_app
from pulse_planner.domain import CachedPlan
from pulse_stack.testing import serving as serving_app
from pulse_telemetry import setup_telemetry

pytestmark = pytest.mark.nats

REPEAT = ToolSpec(
    name="text.repeat",
    description="Repeats a text a number of times.",
    input_schema={
        "type": "object",
        "properties": {"text": {"type": "string"}, "times": {"type": "integer", "minimum": 1}},
        "required": ["text", "times"],
        "additionalProperties": False,
    },
)
TODO_LIST = ToolSpec(
    name="todo.list",
    description="Lists the tenant's todos.",
    input_schema={"type": "object", "additionalProperties": False},
)
VALID_GOAL = "say hello three times"
REPAIR_GOAL = "say bye twice"
FAILING_GOAL = "list all todos"


def plan_json(times: object) -> str:
    return json.dumps(
        {
            "steps": [
                {"id": "greet", "tool": "text.repeat", "input": {"text": "hi", "times": times}},
                {"id": "todos", "tool": "todo.list", "input": {}, "depends_on": ["greet"]},
            ]
        }
    )


@dataclass
class ScriptedLlm:
    """Answers like an agent-adapter would, from a script keyed by the goal."""

    requests: list[LlmRequested] = field(default_factory=list)

    def answer(self, request: LlmRequested) -> LlmResponded:
        data = [json.loads(m.content) for m in request.messages if m.role == "user"]
        goal = data[0]["goal"]
        repairing = any("validation_errors" in d for d in data)
        reply = {"message_id": f"reply:{request.message_id}", "request_id": request.message_id}
        if goal == VALID_GOAL:
            return LlmResponded(**reply, text=f"Here you go:\n```json\n{plan_json(3)}\n```")
        if goal == REPAIR_GOAL:
            # First a plan breaking the tool's schema, then — told why — a valid one.
            return LlmResponded(**reply, text=plan_json(2 if repairing else "twice"))
        return LlmResponded(
            **reply,
            error=ErrorInfo(code=ErrorCode.TOOL_FAILED, message="provider down", retryable=True),
        )

    async def serve(self, nc: Client) -> None:
        async def respond(msg: Msg) -> None:
            request = LlmRequested.model_validate_json(msg.data)
            self.requests.append(request)
            await msg.respond(self.answer(request).model_dump_json().encode())

        await nc.subscribe(subjects.LLM_REQUESTS, queue=subjects.LLM_QUEUE_GROUP, cb=respond)
        await server_caught_up(nc)


@dataclass
class Planner:
    js: JetStreamContext
    nc: Client
    http: httpx.AsyncClient
    client: NatsBroker

    async def request(self, run_id: str, prompt: str) -> None:
        await publish(
            self.client,
            RunRequested(
                message_id=f"run:{run_id}:requested", run_id=run_id, tenant="acme", prompt=prompt
            ),
            subjects.RUNS_REQUESTED,
            stream=subjects.STREAM_RUNS,
        )

    async def answers(self) -> dict[str, PlanCreated | PlanRejected]:
        found: dict[str, PlanCreated | PlanRejected] = {}
        for subject, model in (
            (subjects.PLANS_CREATED, PlanCreated),
            (subjects.PLANS_REJECTED, PlanRejected),
        ):
            seq = 1
            while True:
                try:
                    raw = await self.js.get_msg(
                        subjects.STREAM_RUNS, seq=seq, subject=subject, next=True
                    )
                except NotFoundError:
                    break
                answer = model.model_validate_json(raw.data or b"")
                found[answer.run_id] = answer
                seq = (raw.seq or seq) + 1
        return found

    async def wait_for(self, *run_ids: str) -> dict[str, PlanCreated | PlanRejected]:
        async def done() -> bool:
            return set(run_ids) <= set(await self.answers())

        await eventually(done)
        return await self.answers()


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_planner(nats_url: str, **overrides: object) -> AsyncIterator[Planner]:
    settings = PlannerSettings(
        nats_url=nats_url,
        log_format="text",
        planner_mode="auto",
        planner_agent_simple="cheap",
        planner_agent_complex="strong",
        planner_llm_timeout_s=10,
        planner_budget_s=20,
        planner_catalogue_refresh_s=0,
        **overrides,  # type: ignore[arg-type]
    )
    app = create_app(settings, telemetry=setup_telemetry(settings, install_global=False))
    async with serving_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        nc = await nats.connect(nats_url)
        client = NatsBroker(nats_url)
        try:

            async def ready() -> bool:
                return (await http.get("/readyz")).status_code == 200

            await eventually(ready)
            await client.connect()
            yield Planner(nc.jetstream(), nc, http, client)
        finally:
            await client.stop()
            await nc.close()


async def publish_catalogue(js: JetStreamContext, *specs: ToolSpec) -> None:
    kv = await js.create_key_value(KeyValueConfig(bucket=subjects.KV_TOOLS, history=1))
    for spec in specs:
        await kv.put(spec.name, spec.model_dump_json().encode())


async def test_llm_plans_repairs_falls_back_and_caches_on_real_nats(nats_url: str) -> None:
    llm = ScriptedLlm()
    async with running_planner(nats_url) as planner:
        await publish_catalogue(planner.js, REPEAT, TODO_LIST)
        await llm.serve(planner.nc)

        await planner.request("run-valid", VALID_GOAL)
        await planner.request("run-repair", REPAIR_GOAL)
        await planner.request("run-fail", FAILING_GOAL)
        answers = await planner.wait_for("run-valid", "run-repair", "run-fail")

        # A valid answer becomes the plan, made by the LLM with the catalogue from KV.
        valid = answers["run-valid"]
        assert isinstance(valid, PlanCreated)
        assert valid.planner == "llm"
        assert [(s.id, s.tool, s.input, s.depends_on) for s in valid.plan.steps] == [
            ("greet", "text.repeat", {"text": "hi", "times": 3}, []),
            ("todos", "todo.list", {}, ["greet"]),
        ]
        # An invalid answer is repaired once, with the validation errors fed back.
        repaired = answers["run-repair"]
        assert isinstance(repaired, PlanCreated)
        assert repaired.planner == "llm"
        assert repaired.plan.steps[0].input == {"text": "hi", "times": 2}
        repair_requests = [r for r in llm.requests if r.run_id == "run-repair"]
        assert [r.message_id.rsplit(":", 1)[1] for r in repair_requests] == ["plan", "repair"]
        feedback = json.loads(repair_requests[1].messages[-1].content)
        assert "input.times: 'twice' is not of type 'integer'" in feedback["validation_errors"][0]
        # A failing LLM hands the goal to the rule-based planner.
        fallback = answers["run-fail"]
        assert isinstance(fallback, PlanCreated)
        assert fallback.planner == "rule-based"
        assert [s.tool for s in fallback.plan.steps] == ["todo.list"]

        # Every request was for this tenant and routed to the cheap agent (simple goals).
        assert {(r.tenant, r.agent) for r in llm.requests} == {("acme", "cheap")}
        assert all(r.messages[0].role == "system" for r in llm.requests)

        # The same goal again (another run, other spelling) comes from the plan cache.
        asked = len(llm.requests)
        await planner.request("run-again", "Say hello three times.")
        again = (await planner.wait_for("run-again"))["run-again"]
        assert isinstance(again, PlanCreated)
        assert (again.planner, again.plan) == ("llm", valid.plan)
        assert len(llm.requests) == asked
        cache = await planner.js.key_value(subjects.KV_PLAN_CACHE)
        keys = await cache.keys()
        assert len(keys) == 2  # the valid and the repaired plan; never the fallback
        assert all(k.startswith("plan.acme.") for k in keys)
        entry = await cache.get(keys[0])
        assert CachedPlan.model_validate_json(entry.value or b"").planner == "llm"

        metrics = (await planner.http.get("/metrics")).text
        for line in (
            'pulse_planner_runs_planned_total{outcome="created",planner="llm"} 3.0',
            'pulse_planner_runs_planned_total{outcome="created",planner="rule-based"} 1.0',
            'pulse_planner_llm_plans_total{outcome="valid"} 1.0',
            'pulse_planner_llm_plans_total{outcome="repaired"} 1.0',
            'pulse_planner_llm_plans_total{outcome="unavailable"} 1.0',
            'pulse_planner_fallbacks_total{reason="llm_unavailable"} 1.0',
            'pulse_cache_requests_total{layer="plan",result="hit"} 1.0',
            'pulse_plan_latency_seconds_count{outcome="planned",planner="cache"} 1.0',
            'pulse_plan_latency_seconds_count{outcome="planned",planner="llm"} 2.0',
            'pulse_plan_latency_seconds_count{outcome="planned",planner="rule-based"} 1.0',
            'pulse_planner_llm_routed_total{agent="cheap",complexity="simple"} 3.0',
        ):
            assert line in metrics, line


async def test_without_an_adapter_the_rules_plan_and_the_breaker_opens(nats_url: str) -> None:
    async with running_planner(nats_url, planner_breaker_failures=2) as planner:
        # One goal at a time: concurrent goals could all reach the LLM path before the
        # second failure opens the breaker.
        answers: dict[str, PlanCreated | PlanRejected] = {}
        for n in range(3):
            await planner.request(f"run-{n}", FAILING_GOAL)
            answers |= await planner.wait_for(f"run-{n}")
        assert {a.planner for a in answers.values() if isinstance(a, PlanCreated)} == {"rule-based"}
        # Two failures opened the breaker; the third goal went straight to the rules.
        metrics = (await planner.http.get("/metrics")).text
        assert 'pulse_planner_fallbacks_total{reason="llm_unavailable"} 2.0' in metrics
        assert 'pulse_planner_fallbacks_total{reason="breaker_open"} 1.0' in metrics
        assert 'pulse_circuit_breaker_state{breaker="planner-llm"} 2.0' in metrics

        # A goal the rules do not understand either is rejected with both reasons.
        await planner.request("run-odd", "sort out my week")
        odd = (await planner.wait_for("run-odd"))["run-odd"]
        assert isinstance(odd, PlanRejected)
        assert "I do not understand" in odd.error.message
        assert "the LLM planner could not plan it either" in odd.error.message
