"""The JSON-Schema catalogue: version, rendering, input checks with reference placeholders."""

from __future__ import annotations

import json

from pulse_contracts import ToolSpec
from pulse_planner.domain import KNOWN_TOOLS, SchemaCatalogue, builtin_catalogue

REPEAT = ToolSpec(
    name="demo.echo",
    description="Echoes a text.",
    input_schema={
        "type": "object",
        "properties": {
            "text": {"type": "string", "maxLength": 20},
            "times": {"type": "integer", "minimum": 1, "maximum": 5},
        },
        "required": ["text", "times"],
        "additionalProperties": False,
    },
)


def test_the_builtin_catalogue_mirrors_the_rule_planners_tools() -> None:
    catalogue = builtin_catalogue()
    assert catalogue.names() == KNOWN_TOOLS.names()
    assert catalogue.input_errors("calculator", {"expression": "1 + 1"}) == []
    assert catalogue.input_errors("todo.list", {}) == []
    assert catalogue.input_errors("todo.list", {"x": 1}) != []


def test_the_version_changes_with_any_tool_contract_and_not_with_order() -> None:
    a = SchemaCatalogue([REPEAT, *builtin_catalogue().specs()])
    b = SchemaCatalogue([*builtin_catalogue().specs(), REPEAT])
    assert a.version == b.version
    bumped = REPEAT.model_copy(update={"version": "2.0.0"})
    assert SchemaCatalogue([bumped, *builtin_catalogue().specs()]).version != a.version
    assert len(a.version) == 16


def test_render_is_json_with_name_description_and_schema() -> None:
    rendered = json.loads(SchemaCatalogue([REPEAT]).render())
    assert rendered == [
        {
            "name": "demo.echo",
            "description": "Echoes a text.",
            "input_schema": REPEAT.input_schema,
        }
    ]


def test_input_errors_name_the_field_and_the_rule() -> None:
    catalogue = SchemaCatalogue([REPEAT])
    assert catalogue.input_errors("demo.echo", {"text": "hi", "times": 2}) == []
    errors = catalogue.input_errors("demo.echo", {"text": 5, "times": 9, "extra": True})
    assert any(e.startswith("input.text: 5 is not of type 'string'") for e in errors)
    assert any(e.startswith("input.times: 9 is greater than the maximum") for e in errors)
    assert any("extra" in e and "not allowed" in e for e in errors)
    assert catalogue.input_errors("demo.echo", {"text": "hi"}) == [
        "input: 'times' is a required property"
    ]


def test_references_are_valid_placeholders_for_any_type() -> None:
    catalogue = SchemaCatalogue([REPEAT])
    assert (
        catalogue.input_errors(
            "demo.echo", {"text": "{{steps.s1.output}}", "times": "{{steps.s2.output.n}}"}
        )
        == []
    )
    # Inside a longer string it still stands for text not known yet (maxLength is moot).
    long_text = "a long prefix that passes twenty chars {{steps.s1.output}}"
    assert catalogue.input_errors("demo.echo", {"text": long_text, "times": 1}) == []
    # A string that merely looks like one is not a reference.
    assert catalogue.input_errors("demo.echo", {"text": "x", "times": "{{steps.s1}}"}) != []


def test_a_broken_schema_makes_the_tool_unusable_not_the_planner_crash() -> None:
    broken = ToolSpec(name="broken", input_schema={"type": "no-such-type"})
    errors = SchemaCatalogue([broken]).input_errors("broken", {})
    assert len(errors) == 1
    assert "invalid input schema" in errors[0]
