"""Finding the plan in whatever an LLM wraps it in."""

from __future__ import annotations

import pytest

from pulse_planner.domain import extract_json, extract_plan_document

PLAN = '{"steps": [{"id": "s1", "tool": "todo.list", "input": {}}]}'


@pytest.mark.parametrize(
    "answer",
    [
        PLAN,
        f"  {PLAN}\n",
        f"```json\n{PLAN}\n```",
        f"Here is the plan:\n```\n{PLAN}\n```\nLet me know if you need more.",
        f"Sure! {PLAN} This plan lists the todos.",
        f'{{"plan": {PLAN}}}',
        '[{"id": "s1", "tool": "todo.list", "input": {}}]',
        f'Thinking... {{"note": "not this"}} then {PLAN}',
        f"```json\n{{broken\n```\n```json\n{PLAN}\n```",
    ],
)
def test_the_plan_is_found(answer: str) -> None:
    document = extract_plan_document(answer)
    assert document == {"steps": [{"id": "s1", "tool": "todo.list", "input": {}}]}


def test_an_object_without_steps_is_returned_for_validation_to_reject() -> None:
    assert extract_plan_document('{"oops": 1}') == {"oops": 1}


@pytest.mark.parametrize("answer", ["", "no json here", "{not json", "[1, 2", "42", '"a string"'])
def test_no_json_object_is_an_error(answer: str) -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        extract_plan_document(answer)


def test_extract_json_takes_the_first_object() -> None:
    assert extract_json('verdict: {"approved": false, "feedback": "x"} done') == {
        "approved": False,
        "feedback": "x",
    }


def test_a_long_garbled_answer_is_bounded_work() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        extract_plan_document("{" * 50_000 + "x" * 200_000)
