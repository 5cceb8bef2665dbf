"""Every validation rule, one by one, with the error an LLM gets to repair it."""

from __future__ import annotations

from typing import Any

import pytest

from pulse_contracts import PlanningFailed, ToolSpec
from pulse_planner.domain import (
    MAX_STEPS,
    InvalidPlan,
    SchemaCatalogue,
    builtin_catalogue,
    plan_errors,
    validate_plan,
)

catalogue = builtin_catalogue()


def errors(steps: Any) -> list[str]:
    return plan_errors({"steps": steps}, catalogue)


def test_a_valid_plan_becomes_a_plan() -> None:
    plan = validate_plan(
        {
            "steps": [
                {"id": "s1", "tool": "calculator", "input": {"expression": "5 * 3"}},
                {
                    "id": "s2",
                    "tool": "todo.add",
                    "input": {"text": "result: {{steps.s1.output}}"},
                    "description": "save it",
                    "unknown_field": "ignored",
                },
                {"id": "s3", "tool": "todo.list", "depends_on": ["s2"]},
            ]
        },
        catalogue,
    )
    assert [(s.id, s.tool, s.depends_on, s.agent) for s in plan.steps] == [
        ("s1", "calculator", [], "default"),
        ("s2", "todo.add", ["s1"], "default"),  # the reference implies the dependency
        ("s3", "todo.list", ["s2"], "default"),
    ]
    assert plan.steps[1].description == "save it"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, 'non-empty "steps" list'),
        ({"steps": []}, 'non-empty "steps" list'),
        ({"steps": "s1"}, 'non-empty "steps" list'),
        ({"steps": [{"id": "s1", "tool": "todo.list"}] * (MAX_STEPS + 1)}, "at most"),
    ],
)
def test_the_document_shape(document: dict[str, Any], expected: str) -> None:
    [error] = plan_errors(document, catalogue)
    assert expected in error


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("s1", "steps[0] must be an object"),
        ({"tool": "todo.list"}, "steps[0]: id must be a string"),
        ({"id": "s 1", "tool": "todo.list"}, "steps[0]: id must be a string"),
        ({"id": "s1"}, "step s1: tool must be a string"),
        ({"id": "s1", "tool": "todo.list", "input": []}, "step s1: input must be an object"),
        ({"id": "s1", "tool": "todo.list", "depends_on": "s0"}, "depends_on must be a list"),
        ({"id": "s1", "tool": "todo.list", "description": 3}, "description must be a string"),
    ],
)
def test_each_step_shape(step: Any, expected: str) -> None:
    found = errors([step])
    assert any(expected in e for e in found), found


def test_unknown_tools_are_named_with_the_known_ones() -> None:
    [error] = errors([{"id": "s1", "tool": "shell.exec", "input": {}}])
    assert error.startswith("step s1: unknown tool 'shell.exec'; known tools: calculator")


def test_inputs_must_match_the_tools_schema() -> None:
    found = errors(
        [
            {"id": "s1", "tool": "calculator", "input": {"expr": "1"}},
            {"id": "s2", "tool": "todo.add", "input": {"text": 7}},
        ]
    )
    assert "step s1: input: 'expression' is a required property" in found
    assert any(e.startswith("step s1: input: Additional properties") for e in found)
    assert "step s2: input.text: 7 is not of type 'string'" in found


def test_references_must_resolve() -> None:
    found = errors([{"id": "s1", "tool": "todo.add", "input": {"text": "{{steps.s9.output}}"}}])
    assert found == ["step s1: reference to unknown step 's9'"]


def test_depends_on_must_name_steps_of_the_plan() -> None:
    found = errors([{"id": "s1", "tool": "todo.list", "depends_on": ["s0"]}])
    assert found == ["step s1: depends_on names unknown step 's0'"]


def test_a_step_cannot_depend_on_itself() -> None:
    found = errors([{"id": "s1", "tool": "todo.add", "input": {"text": "{{steps.s1.output}}"}}])
    assert found == ["step s1: depends on itself"]


def test_step_ids_are_unique() -> None:
    found = errors([{"id": "s1", "tool": "todo.list"}, {"id": "s1", "tool": "todo.list"}])
    assert found == ["step id 's1' is used more than once"]


def test_cycles_are_found_through_references_and_dependencies() -> None:
    found = errors(
        [
            {"id": "a", "tool": "todo.add", "input": {"text": "{{steps.b.output}}"}},
            {"id": "b", "tool": "todo.list", "depends_on": ["c"]},
            {"id": "c", "tool": "todo.list", "depends_on": ["a"]},
            {"id": "d", "tool": "todo.list"},
        ]
    )
    assert found == ["plan has a cycle among steps ['a', 'b', 'c']"]


def test_every_problem_is_reported_at_once() -> None:
    found = errors(
        [
            {"id": "s1", "tool": "nope"},
            {"id": "s2", "tool": "calculator", "input": {}},
        ]
    )
    assert len(found) == 2


def test_invalid_plan_carries_errors_and_the_answer() -> None:
    with pytest.raises(InvalidPlan) as caught:
        validate_plan({"steps": []}, catalogue, answer="{}", run_id="r1")
    assert isinstance(caught.value, PlanningFailed)
    assert caught.value.errors == ('the plan must be an object with a non-empty "steps" list',)
    assert (caught.value.answer, caught.value.run_id) == ("{}", "r1")
    assert caught.value.message.startswith("the plan is not valid: ")


def test_a_catalogue_tool_the_rules_do_not_know_is_fine() -> None:
    repeat = ToolSpec(name="demo.echo", input_schema={"type": "object"})
    plan = validate_plan(
        {"steps": [{"id": "s1", "tool": "demo.echo", "input": {"anything": [1]}}]},
        SchemaCatalogue([repeat]),
    )
    assert plan.steps[0].tool == "demo.echo"
