"""The LLM planner against a scripted LLM client: plan, repair, review, routing, budget."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from pulse_contracts import ErrorCode, ErrorInfo, LlmRequested, LlmResponded, Usage
from pulse_planner.domain import InvalidPlan, LlmUnavailable, builtin_catalogue
from pulse_planner.llm_planner import LlmPlanner, LlmPlannerConfig, parse_verdict

catalogue = builtin_catalogue()

VALID = json.dumps(
    {
        "steps": [
            {"id": "s1", "tool": "calculator", "input": {"expression": "5 * 3"}},
            {"id": "s2", "tool": "todo.add", "input": {"text": "{{steps.s1.output}}"}},
        ]
    }
)
OTHER = json.dumps({"steps": [{"id": "s1", "tool": "todo.list", "input": {}}]})
UNKNOWN_TOOL = json.dumps({"steps": [{"id": "s1", "tool": "shell.exec", "input": {}}]})

Answer = str | LlmResponded | Exception


@dataclass
class ScriptedLlm:
    """Answers each request with the next scripted answer (or `script(request)`)."""

    answers: list[Answer] = field(default_factory=list)
    script: Callable[[LlmRequested], Answer] | None = None
    requests: list[LlmRequested] = field(default_factory=list)
    timeouts: list[float] = field(default_factory=list)

    async def complete(self, request: LlmRequested, *, timeout_s: float) -> LlmResponded:
        self.requests.append(request)
        self.timeouts.append(timeout_s)
        answer = self.script(request) if self.script else self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, LlmResponded):
            return answer
        return LlmResponded(
            message_id=f"reply:{request.message_id}",
            request_id=request.message_id,
            text=answer,
            usage=Usage(prompt_tokens=10, completion_tokens=5),
        )

    def data(self, index: int) -> list[dict[str, object]]:
        """The JSON data of the user messages of request `index`."""
        return [json.loads(m.content) for m in self.requests[index].messages if m.role == "user"]


def failed(message: str) -> LlmResponded:
    return LlmResponded(
        message_id="r",
        request_id="q",
        error=ErrorInfo(code=ErrorCode.TOOL_FAILED, message=message, retryable=True),
    )


async def test_a_valid_answer_is_the_plan() -> None:
    llm = ScriptedLlm([f"```json\n{VALID}\n```"])
    result = await LlmPlanner(llm).plan("calculate 5 * 3 and save it", catalogue, run_id="r1")
    assert [s.tool for s in result.plan.steps] == ["calculator", "todo.add"]
    assert result.plan.steps[1].depends_on == ["s1"]
    assert (result.calls, result.repaired, result.review) == (1, False, "off")
    assert result.usage == Usage(prompt_tokens=10, completion_tokens=5)
    [request] = llm.requests
    assert request.run_id == "r1"
    assert request.message_id == "run:r1:plan:llm:plan"
    assert request.temperature == 0.0
    assert llm.data(0) == [{"goal": "calculate 5 * 3 and save it"}]


async def test_an_invalid_answer_gets_one_repair_with_the_errors() -> None:
    llm = ScriptedLlm([UNKNOWN_TOOL, VALID])
    result = await LlmPlanner(llm).plan("calculate 5 * 3 and save it", catalogue)
    assert result.repaired
    assert result.calls == 2
    repair = llm.requests[1]
    assert [m.role for m in repair.messages] == ["system", "user", "assistant", "user"]
    assert repair.messages[2].content == UNKNOWN_TOOL
    [errors] = [d["validation_errors"] for d in llm.data(1) if "validation_errors" in d]
    assert isinstance(errors, list)
    assert "unknown tool 'shell.exec'" in errors[0]
    assert repair.message_id.endswith(":repair")


async def test_a_second_invalid_answer_is_invalid_plan() -> None:
    llm = ScriptedLlm(["I cannot do that.", UNKNOWN_TOOL])
    with pytest.raises(InvalidPlan) as caught:
        await LlmPlanner(llm).plan("do it", catalogue)
    assert "unknown tool" in caught.value.message
    assert len(llm.requests) == 2
    assert llm.data(1)[-1] == {"validation_errors": ["the answer holds no JSON object"]}


async def test_an_empty_answer_is_invalid() -> None:
    llm = ScriptedLlm(["", "  "])
    with pytest.raises(InvalidPlan, match="empty"):
        await LlmPlanner(llm).plan("do it", catalogue)


async def test_an_llm_error_is_unavailable_without_a_repair() -> None:
    llm = ScriptedLlm([failed("provider down")])
    with pytest.raises(LlmUnavailable, match="provider down"):
        await LlmPlanner(llm).plan("do it", catalogue)
    assert len(llm.requests) == 1


async def test_routing_picks_the_agent_by_complexity() -> None:
    config = LlmPlannerConfig(simple_agent="cheap", complex_agent="strong")
    llm = ScriptedLlm(script=lambda _request: OTHER)
    planner = LlmPlanner(llm, config)
    simple = await planner.plan("list all todos", catalogue)
    complex_goal = (
        "research caching, compare the trade-offs, design a strategy, then review it "
        "and if it is good list all todos"
    )
    hard = await planner.plan(complex_goal, catalogue)
    assert (simple.agent, hard.agent) == ("cheap", "strong")
    assert [r.agent for r in llm.requests] == ["cheap", "strong"]
    assert (simple.complexity.level, hard.complexity.level) == ("simple", "complex")


async def test_the_judge_approves() -> None:
    config = LlmPlannerConfig(judge=True, complex_agent="strong", judge_agent="judge")
    llm = ScriptedLlm([VALID, '{"approved": true}'])
    result = await LlmPlanner(llm, config).plan("calculate 5 * 3 and save it", catalogue)
    assert result.review == "approved"
    assert result.calls == 2
    judged = llm.requests[1]
    assert judged.agent == "judge"
    assert judged.messages[0].content.startswith("You review plans")
    [data] = llm.data(1)
    assert data["goal"] == "calculate 5 * 3 and save it"
    assert isinstance(data["plan"], dict)


async def test_the_judge_objects_and_the_replan_replaces_the_plan() -> None:
    config = LlmPlannerConfig(judge=True)
    llm = ScriptedLlm([VALID, '{"approved": false, "feedback": "just list"}', OTHER])
    result = await LlmPlanner(llm, config).plan("list todos", catalogue)
    assert result.review == "replanned"
    assert [s.tool for s in result.plan.steps] == ["todo.list"]
    assert llm.data(2)[-1] == {"reviewer_feedback": ["just list"]}
    assert llm.requests[2].messages[2].content == VALID


async def test_an_invalid_replan_keeps_the_validated_plan() -> None:
    config = LlmPlannerConfig(judge=True)
    llm = ScriptedLlm([VALID, '{"approved": false}', UNKNOWN_TOOL])
    result = await LlmPlanner(llm, config).plan("x", catalogue)
    assert result.review == "rejected-kept"
    assert [s.tool for s in result.plan.steps] == ["calculator", "todo.add"]


@pytest.mark.parametrize("verdict", ["looks good", failed("judge down")])
async def test_a_judge_without_a_verdict_lets_the_plan_pass(verdict: Answer) -> None:
    llm = ScriptedLlm([VALID, verdict])
    result = await LlmPlanner(llm, LlmPlannerConfig(judge=True)).plan("x", catalogue)
    assert result.review == "unavailable"
    assert result.calls == 2


def test_parse_verdict() -> None:
    assert parse_verdict('```json\n{"approved": true}\n```').approved
    verdict = parse_verdict('{"approved": false, "feedback": "add a step"}')
    assert (verdict.approved, verdict.feedback) == (False, "add a step")
    with pytest.raises(ValueError, match="approved"):
        parse_verdict('{"approved": "yes"}')


async def test_requests_never_outlive_the_deadline() -> None:
    now = [100.0]
    llm = ScriptedLlm([UNKNOWN_TOOL, VALID])

    def clock() -> float:
        return now[0]

    planner = LlmPlanner(llm, LlmPlannerConfig(request_timeout_s=15), clock=clock)
    await planner.plan("x", catalogue, deadline=104.0)
    assert llm.timeouts == [4.0, 4.0]
    assert llm.requests[0].model_dump().get("timeout_s", 3.6) == pytest.approx(3.6)

    spent = ScriptedLlm([VALID])
    with pytest.raises(LlmUnavailable, match="budget"):
        await LlmPlanner(spent, clock=clock).plan("x", catalogue, deadline=99.0)
    assert spent.requests == []


async def test_a_repair_asks_the_adapter_not_to_answer_from_its_cache() -> None:
    llm = ScriptedLlm([UNKNOWN_TOOL, VALID])
    await LlmPlanner(llm).plan("x", catalogue)
    first, repair = (r.model_dump() for r in llm.requests)
    # Only where the contract has the field (the agent-adapter's response cache).
    assert first.get("cache", True) is True
    assert repair.get("cache", False) is False
