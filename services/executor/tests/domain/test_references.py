from __future__ import annotations

import pytest

from pulse_contracts import ErrorCode, UnresolvedReference
from pulse_executor.domain import render_text, resolve_input, resolve_value

OUTPUTS = {
    "calc": 15,
    "todo": {"id": 7, "title": "buy milk", "tags": ["home", "urgent"], "done": False},
    "text": "hello",
    "list": [{"name": "a"}, {"name": "b"}],
    "nothing": None,
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{steps.calc.output}}", 15),
        ("{{steps.todo.output}}", OUTPUTS["todo"]),
        ("{{ steps.todo.output.tags }}", ["home", "urgent"]),
        ("{{steps.todo.output.done}}", False),
        ("{{steps.nothing.output}}", None),
        ("{{steps.list.output.1.name}}", "b"),
        ("{{steps.todo.output.tags.0}}", "home"),
    ],
)
def test_a_whole_reference_becomes_the_value_with_its_type(value: str, expected: object) -> None:
    assert resolve_value(value, OUTPUTS) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("result: {{steps.calc.output}}", "result: 15"),
        ("say {{steps.text.output}}!", "say hello!"),
        ("todo {{steps.todo.output.title}} #{{steps.todo.output.id}}", "todo buy milk #7"),
        ("tags={{steps.todo.output.tags}}", 'tags=["home","urgent"]'),
        ("{{steps.list.output.0}} ", '{"name":"a"} '),
        ("null is {{steps.nothing.output}}", "null is null"),
    ],
)
def test_a_reference_inside_text_becomes_its_text(value: str, expected: str) -> None:
    assert resolve_value(value, OUTPUTS) == expected


def test_references_are_resolved_inside_lists_and_dicts() -> None:
    value = {"items": ["{{steps.calc.output}}", {"t": "x{{steps.text.output}}"}], "n": 3}
    assert resolve_value(value, OUTPUTS) == {"items": [15, {"t": "xhello"}], "n": 3}


def test_values_without_references_are_untouched() -> None:
    value = {"expr": "5 * 3", "braces": "{{not a ref}}", "n": 1.5, "flag": True}
    assert resolve_input(value, OUTPUTS, run_id="r", step_id="s") == value


def test_render_text_is_compact_json_for_non_strings() -> None:
    assert render_text({"a": [1, 2]}) == '{"a":[1,2]}'
    assert render_text("as is") == "as is"
    assert render_text(True) == "true"
    assert render_text("é") == "é"


@pytest.mark.parametrize(
    "value",
    [
        "{{steps.todo.output.missing}}",
        "{{steps.todo.output.tags.5}}",
        "{{steps.todo.output.tags.first}}",
        "{{steps.calc.output.digits}}",
        "{{steps.todo.output.title.0}}",
        "text {{steps.ghost.output}}",
    ],
)
def test_a_missing_path_is_an_unresolved_reference(value: str) -> None:
    with pytest.raises(UnresolvedReference) as caught:
        resolve_input({"x": value}, OUTPUTS, run_id="run-9", step_id="s2")
    info = caught.value.to_info()
    assert info.code is ErrorCode.UNRESOLVED_REFERENCE
    assert (info.run_id, info.step_id) == ("run-9", "s2")
    assert "s2" in info.message
