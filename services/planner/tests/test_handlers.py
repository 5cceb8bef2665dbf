"""RunRequested in, PlanCreated / PlanRejected out — on FastStream's in-memory test broker."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from faststream.nats import JStream, NatsBroker, NatsMessage, TestNatsBroker
from nats.js.api import PubAck
from prometheus_client import CollectorRegistry

from pulse_broker import build_broker, publish
from pulse_contracts import (
    ErrorCode,
    Plan,
    PlanCreated,
    PlanningFailed,
    PlanRejected,
    PlanStep,
    RunRequested,
    subjects,
)
from pulse_planner import PlannerSettings
from pulse_planner.domain import RuleBasedPlanner
from pulse_planner.handlers import register_handlers
from pulse_planner.metrics import PlannerMetrics
from pulse_planner.pipeline import Goal, GoalPlanner, PlannedGoal, RulePlanning
from pulse_telemetry import JsonFormatter, Telemetry


@dataclass
class Outbox:
    created: list[tuple[PlanCreated, dict[str, str]]] = field(default_factory=list)
    rejected: list[tuple[PlanRejected, dict[str, str]]] = field(default_factory=list)


@dataclass
class Harness:
    broker: NatsBroker
    outbox: Outbox
    registry: CollectorRegistry


@pytest.fixture
def planner() -> GoalPlanner | None:
    """The planner under test; None: the rule-based one."""
    return None


@pytest.fixture
async def harness(
    settings: PlannerSettings,
    telemetry: Telemetry,
    stream_acks: list[PubAck],
    planner: GoalPlanner | None,
) -> AsyncIterator[Harness]:
    broker = build_broker(settings, telemetry)
    register_handlers(
        broker,
        settings,
        planner or RulePlanning(RuleBasedPlanner()),
        PlannerMetrics(telemetry.registry),
    )
    outbox = Outbox()
    runs = JStream(subjects.STREAM_RUNS, declare=False)

    @broker.subscriber(subjects.PLANS_CREATED, stream=runs)
    async def on_created(plan: PlanCreated, msg: NatsMessage) -> None:
        outbox.created.append((plan, dict(msg.headers)))

    @broker.subscriber(subjects.PLANS_REJECTED, stream=runs)
    async def on_rejected(rejection: PlanRejected, msg: NatsMessage) -> None:
        outbox.rejected.append((rejection, dict(msg.headers)))

    async with TestNatsBroker(broker) as test_broker:
        yield Harness(test_broker, outbox, telemetry.registry)


def latency_count(harness: Harness, planner: str, outcome: str) -> float:
    labels = {"planner": planner, "outcome": outcome}
    return harness.registry.get_sample_value("pulse_plan_latency_seconds_count", labels) or 0.0


async def _request(harness: Harness, run_id: str, prompt: str, tenant: str = "acme") -> None:
    request = RunRequested(
        message_id=f"run:{run_id}:requested", run_id=run_id, tenant=tenant, prompt=prompt
    )
    await publish(harness.broker, request, subjects.RUNS_REQUESTED, stream=subjects.STREAM_RUNS)


async def test_a_plannable_request_publishes_plan_created(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pulse_planner")
    await _request(
        harness, "run-1", "calculate 5 * 3, add the result as a todo, then list all todos"
    )

    assert harness.outbox.rejected == []
    [(plan, headers)] = harness.outbox.created
    assert headers["Nats-Msg-Id"] == "run:run-1:plan" == plan.message_id
    assert (plan.run_id, plan.tenant, plan.planner) == ("run-1", "acme", "rule-based")
    assert plan.trace_id is not None
    assert len(plan.trace_id) == 32
    assert "traceparent" in headers
    assert plan.trace_id in headers["traceparent"]
    assert [(s.id, s.tool, s.depends_on) for s in plan.plan.steps] == [
        ("s1", "calculator", []),
        ("s2", "todo.add", ["s1"]),
        ("s3", "todo.list", ["s2"]),
    ]
    [line] = [r for r in caplog.records if r.name == "pulse_planner.handlers"]
    assert line.getMessage() == "plan created"
    assert (line.steps, line.planner) == (3, "rule-based")  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]
    assert (
        harness.registry.get_sample_value(
            "pulse_planner_runs_planned_total", {"outcome": "created", "planner": "rule-based"}
        )
        == 1.0
    )
    assert latency_count(harness, "rule-based", "planned") == 1


async def test_an_unplannable_request_publishes_plan_rejected(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pulse_planner")
    await _request(harness, "run-2", "make me a sandwich", tenant="globex")

    assert harness.outbox.created == []
    [(rejection, headers)] = harness.outbox.rejected
    assert headers["Nats-Msg-Id"] == "run:run-2:plan" == rejection.message_id
    assert (rejection.run_id, rejection.tenant) == ("run-2", "globex")
    assert rejection.prompt == "make me a sandwich"
    assert rejection.trace_id is not None
    assert rejection.error.code is ErrorCode.PLANNING_FAILED
    assert rejection.error.run_id == "run-2"
    assert '"make me a sandwich"' in rejection.error.message
    [line] = [r for r in caplog.records if r.name == "pulse_planner.handlers"]
    assert line.getMessage() == "plan rejected"
    error = line.error  # type: ignore[attr-defined]
    assert error["code"] == "planning_failed"
    assert error["retryable"] is False
    assert "make me a sandwich" in error["message"]
    assert (
        harness.registry.get_sample_value(
            "pulse_planner_runs_planned_total", {"outcome": "rejected", "planner": "rule-based"}
        )
        == 1.0
    )
    assert latency_count(harness, "rule-based", "rejected") == 1


class _JsonLines(logging.Handler):
    """Formats at emit time, inside the handler, as the service's real log handler does."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("planner"))
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def test_the_outcome_log_line_carries_run_tenant_and_trace(harness: Harness) -> None:
    lines = _JsonLines()
    logger = logging.getLogger("pulse_planner.handlers")
    logger.addHandler(lines)
    try:
        await _request(harness, "run-3", "list todos", tenant="initech")
    finally:
        logger.removeHandler(lines)
    [line] = lines.lines
    [(plan, _)] = harness.outbox.created
    assert line["message"] == "plan created"
    assert (line["run_id"], line["tenant"], line["service"]) == ("run-3", "initech", "planner")
    assert line["trace_id"] == plan.trace_id
    assert line["tools"] == ["todo.list"]


async def test_each_request_gets_its_own_plan_id(harness: Harness) -> None:
    await _request(harness, "a", "list todos")
    await _request(harness, "b", "list todos")
    assert [p.message_id for p, _ in harness.outbox.created] == ["run:a:plan", "run:b:plan"]


class CachingPlanner:
    """Answers from its "cache" first, then rejects: an `auto` pipeline in miniature."""

    name = "auto"

    async def plan_goal(self, goal: Goal) -> PlannedGoal:
        if goal.prompt == "seen before":
            plan = Plan(steps=[PlanStep(id="s1", tool="todo.list")])
            return PlannedGoal(plan, "llm", {"cache": "exact", "similarity": 1.0})
        raise PlanningFailed("neither the LLM nor the rules can plan it", run_id=goal.run_id)


@pytest.mark.parametrize("planner", [CachingPlanner()])
async def test_plan_latency_names_the_cache_and_the_rules_behind_auto(harness: Harness) -> None:
    await _request(harness, "cached", "seen before")
    await _request(harness, "nope", "sort out my week")
    assert latency_count(harness, "cache", "planned") == 1
    assert latency_count(harness, "rule-based", "rejected") == 1
    assert latency_count(harness, "llm", "planned") == 0


async def test_a_redelivered_request_is_not_counted_again(harness: Harness) -> None:
    await _request(harness, "twice", "list todos")
    await _request(harness, "twice", "list todos")  # its plan is a duplicate JetStream drops
    assert len(harness.outbox.created) == 2  # the in-memory broker delivers both anyway
    assert latency_count(harness, "rule-based", "planned") == 1
    assert (
        harness.registry.get_sample_value(
            "pulse_planner_runs_planned_total", {"outcome": "created", "planner": "rule-based"}
        )
        == 1.0
    )
