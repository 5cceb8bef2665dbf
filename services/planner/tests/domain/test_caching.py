"""Cache keys: what counts as the same goal, and what a semantic match must share."""

from __future__ import annotations

import pytest

from pulse_planner.domain import (
    cosine_similarity,
    exact_key,
    literal_signature,
    normalise_goal,
    scope_prefix,
)


def test_normalising_folds_case_space_and_closing_punctuation_outside_quotes() -> None:
    assert normalise_goal("  Calculate  5 * 3,\n then LIST all todos!  ") == (
        "calculate 5 * 3, then list all todos"
    )
    assert normalise_goal('Add "Buy Milk" as a todo.') == 'add "Buy Milk" as a todo'
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "calculate") + " \uff15"
    assert normalise_goal(fullwidth) == "calculate 5"  # NFKC


def test_exact_keys_depend_on_tenant_catalogue_and_normalised_goal() -> None:
    key = exact_key("acme", "abc123", "List all todos")
    assert key == exact_key("acme", "abc123", "list all todos.")
    assert key != exact_key("globex", "abc123", "list all todos")
    assert key != exact_key("acme", "def456", "list all todos")
    assert key != exact_key("acme", "abc123", "list all todos twice")
    assert key.startswith(scope_prefix("acme", "abc123") + ".")
    assert all(ch.isalnum() or ch in "._-" for ch in key)


def test_key_tokens_are_safe_whatever_the_input() -> None:
    assert scope_prefix("a.b*>", "v 1") == "plan.a_b__.v_1"


def test_literal_signature_holds_numbers_and_quoted_text() -> None:
    assert literal_signature('calculate 5 * 3 and add "Buy milk" as a todo') == [
        '"Buy milk"',
        "3",
        "5",
    ]
    assert literal_signature("calculate 5 * 3") != literal_signature("calculate 5 * 4")
    assert literal_signature("compute 3*5") == literal_signature("calculate 5 * 3")


def test_cosine_similarity() -> None:
    assert cosine_similarity([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine_similarity([1.0, 0.0], [0.0, 1.0]) == pytest.approx(0.0)
    assert cosine_similarity([1.0, 1.0], [1.0, 0.0]) == pytest.approx(0.7071, abs=1e-4)
    assert cosine_similarity([], []) == 0.0
    assert cosine_similarity([1.0], [1.0, 2.0]) == 0.0
    assert cosine_similarity([0.0, 0.0], [1.0, 0.0]) == 0.0
