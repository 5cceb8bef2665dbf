"""Each clause rule on its own: which wordings it takes and the steps it builds."""

from __future__ import annotations

import pytest

from pulse_contracts import PlanningFailed
from pulse_planner.domain.rules import HELP, StepDraft, match_rule


def _build(clause: str, earlier: list[str] | None = None) -> list[StepDraft]:
    found = match_rule(clause)
    assert found is not None, clause
    return found.build(earlier or [])


@pytest.mark.parametrize(
    ("clause", "expression"),
    [
        ("calculate 5 * 3", "5 * 3"),
        ("Compute 12*7", "12*7"),
        ("evaluate (1 + 2) ** 3", "(1 + 2) ** 3"),
        ("what is 100 / 4?", "100 / 4"),
        ("What's 7 % 3", "7 % 3"),
        ("please calculate 2 + 2.", "2 + 2"),
    ],
)
def test_calculate(clause: str, expression: str) -> None:
    assert _build(clause) == [StepDraft("calculator", {"expression": expression})]


def test_calculate_refuses_what_is_not_arithmetic() -> None:
    with pytest.raises(PlanningFailed, match="the calculator takes digits"):
        _build("what is the capital of France")


@pytest.mark.parametrize(
    "clause",
    [
        "add the result as a todo",
        "add it to my todos",
        "Add that result to the todo list",
        "save the result as a to-do",
        "add the answer to my todos",
        "add this as a todo",
    ],
)
def test_todo_of_the_result_refers_to_the_last_earlier_step(clause: str) -> None:
    assert _build(clause, ["s1", "s2"]) == [
        StepDraft("todo.add", {"text": "{{steps.s2.output}}"}, ("s2",))
    ]


@pytest.mark.parametrize(
    "clause",
    [
        "add both results as todos",
        "add both results as a todo",
        "add all results as todos",
        "add all the results to my todos",
        "add the results to my todo list",
        "add them to my todos",
    ],
)
def test_todos_of_all_results_make_one_todo_per_result(clause: str) -> None:
    assert _build(clause, ["s1", "s2"]) == [
        StepDraft("todo.add", {"text": "{{steps.s1.output}}"}, ("s1",)),
        StepDraft("todo.add", {"text": "{{steps.s2.output}}"}, ("s2",)),
    ]


def test_all_results_takes_any_number_but_both_needs_two() -> None:
    assert len(_build("add all results as todos", ["s1", "s2", "s3"])) == 3
    with pytest.raises(PlanningFailed, match="needs exactly two earlier steps, found 3"):
        _build("add both results as todos", ["s1", "s2", "s3"])


@pytest.mark.parametrize(
    "clause", ["add the result as a todo", "add both results as todos", "explain the result"]
)
def test_a_result_with_nothing_before_it_is_refused(clause: str) -> None:
    with pytest.raises(PlanningFailed, match="nothing comes before it"):
        _build(clause, [])


@pytest.mark.parametrize(
    ("clause", "text"),
    [
        ('add "buy milk" as a todo', "buy milk"),
        ("add 'call mom' to my todos", "call mom"),
        ('add "the result" as a todo', "the result"),
        ("add water the plants to my todo list", "water the plants"),
        ("add a todo buy milk", "buy milk"),
        ("add a todo: buy milk", "buy milk"),
        ("add a new todo to renew the passport", "renew the passport"),
        ("create a todo call the bank", "call the bank"),
        ("remember to buy milk", "buy milk"),
        ("Remind me to call mom!", "call mom"),
    ],
)
def test_todo_with_text(clause: str, text: str) -> None:
    assert _build(clause) == [StepDraft("todo.add", {"text": text})]


@pytest.mark.parametrize(
    "clause",
    [
        "list all todos",
        "list todos",
        "list my todos",
        "show todos",
        "Show me all of my todos",
        "display the todo list",
        "what are my todos?",
        "list all to-dos",
    ],
)
def test_list_todos(clause: str) -> None:
    assert _build(clause) == [StepDraft("todo.list")]


@pytest.mark.parametrize(
    ("clause", "prompt"),
    [
        ("ask the llm to explain recursion", "explain recursion"),
        ("ask the LLM: what rhymes with orange", "what rhymes with orange"),
        ("ask llm tell me a joke", "tell me a joke"),
        ("ask the model to name three rivers", "name three rivers"),
        ("write a haiku about durable workflows", "write a haiku about durable workflows"),
        ("Draft a release note", "Draft a release note"),
        ("summarize the design", "summarize the design"),
        ("explain event sourcing", "explain event sourcing"),
        ("describe a cat", "describe a cat"),
    ],
)
def test_llm_completion(clause: str, prompt: str) -> None:
    assert _build(clause) == [StepDraft("llm.complete", {"prompt": prompt})]


def test_the_result_inside_llm_text_becomes_a_reference() -> None:
    assert _build("ask the llm to explain the result", ["s1"]) == [
        StepDraft("llm.complete", {"prompt": "explain {{steps.s1.output}}"}, ("s1",))
    ]
    assert _build("summarize both results in a sentence", ["s3", "s4"]) == [
        StepDraft(
            "llm.complete",
            {"prompt": "summarize {{steps.s3.output}} and {{steps.s4.output}} in a sentence"},
            ("s3", "s4"),
        )
    ]


def test_the_result_inside_quotes_stays_text() -> None:
    assert _build('write a poem titled "the result" about the result', ["s1"]) == [
        StepDraft(
            "llm.complete",
            {"prompt": 'write a poem titled "the result" about {{steps.s1.output}}'},
            ("s1",),
        )
    ]


def test_llm_text_is_kept_verbatim_even_with_template_syntax() -> None:
    # `{x}` and `%s` would break or inject if the prompt were ever used as a template.
    assert _build("explain {x} and %s and {0}") == [
        StepDraft("llm.complete", {"prompt": "explain {x} and %s and {0}"})
    ]


@pytest.mark.parametrize(
    ("clause", "key"),
    [
        ("count apples", "apples"),
        ("increment run_7-b", "run_7-b"),
        ("Count Apples.", "apples"),
        ("please increment k1", "k1"),
    ],
)
def test_count(clause: str, key: str) -> None:
    assert _build(clause) == [StepDraft("counter.increment", {"key": key})]


@pytest.mark.parametrize(
    "clause", ["count", "count two words", "count a.b", "increment *", "count " + "k" * 65]
)
def test_count_takes_exactly_one_key(clause: str) -> None:
    assert match_rule(clause) is None


@pytest.mark.parametrize("clause", ["make me a sandwich", "add", "list", "ask the llm", ""])
def test_unknown_clauses_match_no_rule(clause: str) -> None:
    assert match_rule(clause) is None


def test_help_lists_every_kind_of_clause() -> None:
    for phrase in (
        "calculate",
        "as a todo",
        "remember to",
        "list all todos",
        "count <key>",
        "ask the llm",
    ):
        assert phrase in HELP
