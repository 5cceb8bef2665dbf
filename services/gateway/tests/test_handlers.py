"""The HTTP API over in-memory adapters: shapes, problems, auth, tenancy, limits, headers."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from pulse_contracts import Plan, PlanStep, RunStatus, StepState, StepStatus, Usage
from pulse_gateway.adapters import InMemoryRunPublisher, InMemoryRunStore

PROBLEM = "application/problem+json"
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "instance"} <= body.keys()
    return dict(body)


def assert_secure(response: httpx.Response) -> None:
    for name, value in SECURITY.items():
        assert response.headers.get(name) == value, (name, response.status_code)


async def _create(
    client: httpx.AsyncClient, auth: dict[str, str], **body: object
) -> httpx.Response:
    return await client.post("/v1/runs", json={"prompt": "add 2 and 3", **body}, headers=auth)


# --- POST /v1/runs ------------------------------------------------------------------------


async def test_create_answers_202_with_the_run_and_publishes_it(
    client: httpx.AsyncClient,
    auth_a: dict[str, str],
    store: InMemoryRunStore,
    publisher: InMemoryRunPublisher,
) -> None:
    response = await _create(client, auth_a, metadata={"source": "test", "n": [1, 2]})
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"run_id", "status", "trace_id", "created_at", "links"}
    run_id = body["run_id"]
    assert len(run_id) == 32
    assert body["status"] == "submitted"
    assert body["links"] == {"self": f"/v1/runs/{run_id}"}
    assert response.headers["location"] == f"/v1/runs/{run_id}"
    assert len(body["trace_id"]) == 32
    state = store.runs[run_id]
    assert (state.tenant, state.prompt) == ("tenant-a", "add 2 and 3")
    assert state.metadata == {"source": "test", "n": [1, 2]}
    [published] = publisher.published
    assert published.message.run_id == run_id
    assert published.message.tenant == "tenant-a"
    assert published.message.trace_id == body["trace_id"]


async def test_the_request_span_is_the_root_of_the_run_trace(
    client: httpx.AsyncClient,
    auth_a: dict[str, str],
    publisher: InMemoryRunPublisher,
    spans: InMemorySpanExporter,
) -> None:
    body = (await _create(client, auth_a)).json()
    [server] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.parent is None
    assert server.name == "POST /v1/runs"
    assert format(server.context.trace_id, "032x") == body["trace_id"]
    headers = publisher.published[0].headers
    assert headers["traceparent"].split("-")[1] == body["trace_id"]
    assert f"run_id={body['run_id']}" in headers["baggage"]
    assert "tenant=tenant-a" in headers["baggage"]


async def test_an_idempotency_key_returns_the_same_run(
    client: httpx.AsyncClient,
    auth_a: dict[str, str],
    auth_b: dict[str, str],
    store: InMemoryRunStore,
    publisher: InMemoryRunPublisher,
) -> None:
    first = (await _create(client, auth_a, idempotency_key="order-42")).json()
    store.runs[first["run_id"]].status = RunStatus.WORKING
    store.runs[first["run_id"]].seq = 1
    again = await _create(client, auth_a, idempotency_key="order-42")
    assert again.status_code == 202
    assert again.json()["run_id"] == first["run_id"]
    assert again.json()["status"] == "working"
    assert again.json()["trace_id"] == first["trace_id"]
    assert len(publisher.published) == 1
    # another tenant using the same key gets its own run
    other = (await _create(client, auth_b, idempotency_key="order-42")).json()
    assert other["run_id"] != first["run_id"]
    assert len(publisher.published) == 2


@pytest.mark.parametrize(
    ("content", "loc", "kind"),
    [
        (b'{"prompt": "unterminated', ["body", 11], "json_invalid"),
        (b'{"prompt": 42}', ["body", "prompt"], "string_type"),
        (b'{"prompt": "x", "metadata": [1]}', ["body", "metadata"], "dict_type"),
        (b'{"prompt": "x", "run_id": "mine"}', ["body", "run_id"], "extra_forbidden"),
        (b'{"prompt": "   \\n\\t"}', ["body", "prompt"], "value_error"),
        (b'{"prompt": ""}', ["body", "prompt"], "string_too_short"),
        (b"{}", ["body", "prompt"], "missing"),
        (b'{"prompt": "a\\u0000b"}', ["body", "prompt"], "value_error"),  # NUL
        (b'{"prompt": "\\ud800"}', ["body", "prompt"], "string_unicode"),  # half a pair
        (b"[]", ["body"], "model_attributes_type"),
        (
            json.dumps({"prompt": "x" * 20_001}).encode(),
            ["body", "prompt"],
            "string_too_long",
        ),
        (
            json.dumps({"prompt": "x", "idempotency_key": "k" * 257}).encode(),
            ["body", "idempotency_key"],
            "string_too_long",
        ),
    ],
)
async def test_bad_bodies_are_422_problems_naming_the_field(
    client: httpx.AsyncClient,
    auth_a: dict[str, str],
    publisher: InMemoryRunPublisher,
    content: bytes,
    loc: list[object],
    kind: str,
) -> None:
    response = await client.post(
        "/v1/runs",
        content=content,
        headers={**auth_a, "content-type": "application/json"},
    )
    problem = assert_problem(response, 422)
    assert problem["type"] == "urn:pulse:problem:validation-error"
    assert problem["instance"] == "/v1/runs"
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert {"loc": loc, "msg": errors[0]["msg"], "type": kind} in errors
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)
    assert "x" * 100 not in response.text  # the input is never echoed
    assert_secure(response)
    assert publisher.published == []


async def test_a_body_that_is_not_utf8_is_a_400_problem(
    client: httpx.AsyncClient, auth_a: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/runs",
        content=b'{"prompt": "\xff\xfe"}',
        headers={**auth_a, "content-type": "application/json"},
    )
    assert assert_problem(response, 400)["type"] == "urn:pulse:problem:bad-request"


async def test_odd_but_valid_unicode_is_a_fine_goal(
    client: httpx.AsyncClient, auth_a: dict[str, str], publisher: InMemoryRunPublisher
) -> None:
    prompt = "calculate 2 * 3 \U0001f600 \u202e\u0301 \u4e2d\u6587 \x1d"
    response = await client.post("/v1/runs", json={"prompt": prompt}, headers=auth_a)
    assert response.status_code == 202
    assert publisher.published[0].message.prompt == prompt


async def test_a_non_json_body_is_refused(
    client: httpx.AsyncClient, auth_a: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/runs", content=b"prompt=hi", headers={**auth_a, "content-type": "text/plain"}
    )
    assert_problem(response, 422)


# --- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": "Basic a2V5LW9mLXRlbmFudC1hOg=="},
        {"Authorization": "Bearer "},
        {"Authorization": "key-of-tenant-a"},
    ],
)
async def test_missing_or_unknown_keys_are_401_problems(
    client: httpx.AsyncClient, publisher: InMemoryRunPublisher, headers: dict[str, str]
) -> None:
    for response in (
        await client.post("/v1/runs", json={"prompt": "x"}, headers=headers),
        await client.get("/v1/runs/abc", headers=headers),
    ):
        problem = assert_problem(response, 401)
        assert problem["type"] == "urn:pulse:problem:unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert_secure(response)
    assert publisher.published == []


# --- GET /v1/runs/{run_id} -----------------------------------------------------------------


async def test_get_returns_the_live_state_with_steps_in_plan_order(
    client: httpx.AsyncClient, auth_a: dict[str, str], store: InMemoryRunStore
) -> None:
    run_id = (await _create(client, auth_a)).json()["run_id"]
    state = store.runs[run_id]
    state.status = RunStatus.WORKING
    state.plan = Plan(
        steps=[
            PlanStep(id="add", tool="calculator", input={"expression": "2+3"}),
            PlanStep(id="note", tool="todo_add", input={"text": "{{steps.add.output}}"}),
        ]
    )
    state.planner = "rule-based"
    started = state.created_at
    state.steps = {
        "add": StepState(
            step_id="add",
            tool="calculator",
            status=StepStatus.COMPLETED,
            attempt=1,
            input={"expression": "2+3"},
            output=5,
            usage=Usage(prompt_tokens=3, completion_tokens=1, cost_usd=0.5),
            started_at=started,
            finished_at=started + timedelta(milliseconds=250),
        )
    }
    state.usage = Usage(prompt_tokens=3, completion_tokens=1, cost_usd=0.5)

    response = await client.get(f"/v1/runs/{run_id}", headers=auth_a)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["run_id"] == run_id
    assert view["tenant"] == "tenant-a"
    assert view["status"] == "working"
    assert view["prompt"] == "add 2 and 3"
    assert [s["id"] for s in view["plan"]["steps"]] == ["add", "note"]
    assert [s["step_id"] for s in view["steps"]] == ["add", "note"]
    add, note = view["steps"]
    assert add["status"] == "completed"
    assert add["output"] == 5
    assert add["attempt"] == 1
    assert add["duration_ms"] == 250.0
    assert add["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "cost_usd": 0.5}
    assert set(add) == {
        "step_id", "tool", "status", "attempt", "input", "output", "output_ref", "error",
        "started_at", "finished_at", "duration_ms", "usage",
    }  # fmt: skip
    assert add["output_ref"] is None
    assert note["status"] == "pending"
    assert view["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "cost_usd": 0.5}
    assert view["trace_id"] == state.trace_id
    assert "trace_context" not in view
    assert "seq" not in view
    assert_secure(response)


async def test_another_tenants_run_is_indistinguishable_from_a_missing_one(
    client: httpx.AsyncClient, auth_a: dict[str, str], auth_b: dict[str, str]
) -> None:
    run_id = (await _create(client, auth_a)).json()["run_id"]
    foreign = await client.get(f"/v1/runs/{run_id}", headers=auth_b)
    missing = await client.get(f"/v1/runs/{'0' * 32}", headers=auth_b)
    assert_problem(foreign, 404)
    assert_problem(missing, 404)
    assert foreign.json() | {"instance": ""} == missing.json() | {"instance": ""}
    assert "tenant-a" not in foreign.text


async def test_impossible_run_ids_are_404(
    client: httpx.AsyncClient, auth_a: dict[str, str]
) -> None:
    for run_id in ("a.b", "x" * 65, "%2A"):
        assert_problem(await client.get(f"/v1/runs/{run_id}", headers=auth_a), 404)
