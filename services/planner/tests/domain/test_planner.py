"""The rule-based planner on whole goals: exact plans, parallelism, barriers, rejections."""

from __future__ import annotations

from typing import Any

import pytest

from pulse_contracts import JsonValue, Plan, PlanningFailed, RetryPolicy
from pulse_planner.domain import MAX_STEPS, Planner, RuleBasedPlanner

planner = RuleBasedPlanner()


def step(
    sid: str,
    tool: str,
    step_input: dict[str, JsonValue],
    depends_on: list[str],
    description: str,
) -> dict[str, Any]:
    return {
        "id": sid,
        "tool": tool,
        "agent": "default",
        "input": step_input,
        "depends_on": depends_on,
        "timeout_s": 30.0,
        "description": description,
        "retry": RetryPolicy().model_dump(mode="json"),
        "on_failure": "fail_run",
    }


def steps_of(goal: str) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in planner.plan(goal).steps]


def rejection(goal: str) -> str:
    with pytest.raises(PlanningFailed) as caught:
        planner.plan(goal)
    assert caught.value.code == "planning_failed"
    return caught.value.message


def test_it_is_a_planner() -> None:
    assert isinstance(planner.name, str)
    checked: Planner = planner
    assert checked.name == "rule-based"


def test_demo_goal_one_sequential() -> None:
    assert steps_of("calculate 5 * 3, add the result as a todo, then list all todos") == [
        step("s1", "calculator", {"expression": "5 * 3"}, [], "calculate 5 * 3"),
        step("s2", "todo.add", {"text": "{{steps.s1.output}}"}, ["s1"], "add the result as a todo"),
        step("s3", "todo.list", {}, ["s2"], "list all todos"),
    ]


def test_demo_goal_two_parallel() -> None:
    goal = "calculate 12 * 7 and calculate 100 / 4, then add both results as todos, then list all todos"
    assert steps_of(goal) == [
        step("s1", "calculator", {"expression": "12 * 7"}, [], "calculate 12 * 7"),
        step("s2", "calculator", {"expression": "100 / 4"}, [], "calculate 100 / 4"),
        step(
            "s3",
            "todo.add",
            {"text": "{{steps.s1.output}}"},
            ["s1", "s2"],
            "add both results as todos",
        ),
        step(
            "s4",
            "todo.add",
            {"text": "{{steps.s2.output}}"},
            ["s1", "s2"],
            "add both results as todos",
        ),
        step("s5", "todo.list", {}, ["s3", "s4"], "list all todos"),
    ]


def test_demo_goal_three_llm_explains_a_calculation() -> None:
    assert steps_of("calculate 6 * 7, then ask the llm to explain the result") == [
        step("s1", "calculator", {"expression": "6 * 7"}, [], "calculate 6 * 7"),
        step(
            "s2",
            "llm.complete",
            {"prompt": "explain {{steps.s1.output}}"},
            ["s1"],
            "ask the llm to explain the result",
        ),
    ]


def test_demo_goal_three_llm_output_becomes_a_todo() -> None:
    assert steps_of("write a haiku about durable workflows, then add the result as a todo") == [
        step(
            "s1",
            "llm.complete",
            {"prompt": "write a haiku about durable workflows"},
            [],
            "write a haiku about durable workflows",
        ),
        step("s2", "todo.add", {"text": "{{steps.s1.output}}"}, ["s1"], "add the result as a todo"),
    ]


def test_clauses_without_references_run_in_parallel() -> None:
    plan = planner.plan('calculate 1 + 1, add "buy milk" as a todo and explain recursion')
    assert [s.depends_on for s in plan.steps] == [[], [], []]
    assert [s.tool for s in plan.steps] == ["calculator", "todo.add", "llm.complete"]
    assert plan.sinks() == ["s1", "s2", "s3"]


def test_then_is_a_barrier_on_the_previous_groups_results() -> None:
    plan = planner.plan(
        "calculate 1 + 1 and calculate 2 + 2, then list todos and explain recursion"
    )
    assert [s.depends_on for s in plan.steps] == [[], [], ["s1", "s2"], ["s1", "s2"]]


def test_a_barrier_waits_only_for_the_sinks_of_the_group_before() -> None:
    # s2 already waits for s1, so the next group needs to wait for s2 alone.
    plan = planner.plan("calculate 2 + 3, add the result as a todo, then list todos")
    assert plan.step("s3").depends_on == ["s2"]


def test_a_reference_inside_a_group_orders_just_those_two_steps() -> None:
    plan = planner.plan("calculate 2 + 3, list todos, add the result as a todo")
    # "the result" is the clause right before: list todos (s2).
    assert plan.step("s3").depends_on == ["s2"]
    assert plan.step("s2").depends_on == []
    assert plan.step("s3").input == {"text": "{{steps.s2.output}}"}


def test_both_results_in_the_same_group_refers_to_the_earlier_clauses() -> None:
    plan = planner.plan("calculate 1 + 1 and calculate 2 + 2 and add both results as todos")
    assert [(s.id, s.depends_on) for s in plan.steps] == [
        ("s1", []),
        ("s2", []),
        ("s3", ["s1"]),
        ("s4", ["s2"]),
    ]


def test_the_result_after_then_is_the_last_step_of_the_previous_group() -> None:
    plan = planner.plan("calculate 1 + 1 and calculate 2 + 2, then explain the result")
    assert plan.step("s3").input == {"prompt": "explain {{steps.s2.output}}"}
    assert plan.step("s3").depends_on == ["s1", "s2"]


def test_results_flow_through_several_groups() -> None:
    plan = planner.plan(
        "calculate 6 * 7, then explain the result, then summarize the result, then add it to my todos"
    )
    assert [(s.tool, s.depends_on) for s in plan.steps] == [
        ("calculator", []),
        ("llm.complete", ["s1"]),
        ("llm.complete", ["s2"]),
        ("todo.add", ["s3"]),
    ]
    assert plan.step("s3").input == {"prompt": "summarize {{steps.s2.output}}"}


def test_free_text_keeps_and_and_commas_that_start_no_clause() -> None:
    plan = planner.plan("write a poem about cats and dogs, short and sweet, then list todos")
    assert plan.step("s1").input == {"prompt": "write a poem about cats and dogs, short and sweet"}
    assert len(plan.steps) == 2


def test_todo_text_keeps_its_and() -> None:
    plan = planner.plan("remember to buy milk and eggs and list my todos")
    assert [s.input for s in plan.steps] == [{"text": "buy milk and eggs"}, {}]


def test_quoted_text_keeps_then_and_commas() -> None:
    plan = planner.plan('add "pack, then leave and lock up" as a todo, then list todos')
    assert plan.step("s1").input == {"text": "pack, then leave and lock up"}
    assert plan.step("s2").depends_on == ["s1"]


def test_wording_is_tolerant() -> None:
    plan = planner.plan(
        "Please compute 2 ** 8; and then add it to my to-do list, then finally show my todos!"
    )
    assert [s.tool for s in plan.steps] == ["calculator", "todo.add", "todo.list"]
    assert plan.step("s1").input == {"expression": "2 ** 8"}


def test_counting_goals_make_fan_outs_and_chains() -> None:
    plan = planner.plan("count a and count b and count c, then count d")
    assert [(s.id, s.tool, s.input, s.depends_on) for s in plan.steps] == [
        ("s1", "counter.increment", {"key": "a"}, []),
        ("s2", "counter.increment", {"key": "b"}, []),
        ("s3", "counter.increment", {"key": "c"}, []),
        ("s4", "counter.increment", {"key": "d"}, ["s1", "s2", "s3"]),
    ]
    diamond = planner.plan("increment top, then count left and count right, then count bottom")
    assert [s.depends_on for s in diamond.steps] == [[], ["s1"], ["s1"], ["s2", "s3"]]
    mixed = planner.plan("calculate 2 + 3, then add the result as a todo, then count done")
    assert [s.tool for s in mixed.steps] == ["calculator", "todo.add", "counter.increment"]
    assert mixed.step("s3").depends_on == ["s2"]


def test_step_ids_are_sequential_and_plans_are_deterministic() -> None:
    goal = "calculate 1 + 1 and calculate 2 + 2, then add all results as todos"
    first, second = planner.plan(goal), planner.plan(goal)
    assert first == second
    assert [s.id for s in first.steps] == ["s1", "s2", "s3", "s4"]
    assert isinstance(first, Plan)


def test_an_unknown_goal_is_rejected_naming_the_clause_and_the_known_phrases() -> None:
    message = rejection("make me a sandwich")
    assert '"make me a sandwich"' in message
    for phrase in ("calculate <expression>", "as a todo", "list all todos", "ask the llm"):
        assert phrase in message


def test_an_unknown_clause_among_known_ones_is_named() -> None:
    message = rejection("calculate 5 * 3, then make me a sandwich")
    assert message.startswith('I do not understand "make me a sandwich"')


def test_an_unknown_fragment_after_a_closed_clause_is_not_swallowed() -> None:
    assert '"fly to the moon"' in rejection("list todos and fly to the moon")


def test_free_text_does_not_swallow_what_comes_after_then() -> None:
    assert '"loses"' in rejection("write a story where the hero wins and then loses")


@pytest.mark.parametrize("goal", ["", "   ", "\n\t"])
def test_an_empty_goal_is_rejected(goal: str) -> None:
    assert rejection(goal).startswith("the goal is empty. I understand:")


def test_a_bad_expression_is_rejected_naming_the_clause() -> None:
    message = rejection("calculate 5 * 3 and calculate os.system(1)")
    assert '"calculate os.system(1)"' in message
    assert "the calculator takes digits" in message


def test_a_result_with_nothing_before_it_is_rejected() -> None:
    assert "nothing comes before it" in rejection("add the result as a todo")


def test_user_written_references_are_refused() -> None:
    assert 'say "the result" instead' in rejection("explain {{steps.s1.output}}")
    assert "step reference" in rejection('add "{{ steps.s9.output.x }}" as a todo')


def test_too_many_steps_are_refused() -> None:
    goal = ", ".join(["list todos"] * (MAX_STEPS + 1))
    assert f"at most {MAX_STEPS}" in rejection(goal)
