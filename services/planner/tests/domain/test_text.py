from __future__ import annotations

import pytest

from pulse_planner.domain.text import Separator, protected_mask, split_fragments, unquote


def _pieces(goal: str) -> list[tuple[str, Separator]]:
    return [(f.text, f.separator) for f in split_fragments(goal)]


def test_commas_and_then_make_clauses_and_groups() -> None:
    assert _pieces("calculate 5 * 3, add the result as a todo, then list all todos") == [
        ("calculate 5 * 3", Separator.START),
        ("add the result as a todo", Separator.CLAUSE),
        ("list all todos", Separator.THEN),
    ]


@pytest.mark.parametrize(
    "goal",
    [
        "a then b",
        "a, then b",
        "a; then b",
        "a and then b",
        "a, and then b",
        "a THEN b",
        "a then, b",
    ],
)
def test_every_spelling_of_then_is_a_barrier(goal: str) -> None:
    assert _pieces(goal) == [("a", Separator.START), ("b", Separator.THEN)]


@pytest.mark.parametrize("goal", ["a and b", "a, b", "a; b", "a, and b", "a ,b"])
def test_comma_semicolon_and_and_are_clause_breaks(goal: str) -> None:
    assert _pieces(goal) == [("a", Separator.START), ("b", Separator.CLAUSE)]


def test_words_containing_then_or_and_do_not_split() -> None:
    assert _pieces("explain authentication and brandy") == [
        ("explain authentication", Separator.START),
        ("brandy", Separator.CLAUSE),
    ]
    assert _pieces("write about athens") == [("write about athens", Separator.START)]


def test_quoted_text_is_never_split() -> None:
    goal = 'add "milk, eggs and then bread" as a todo, then list todos'
    assert _pieces(goal) == [
        ('add "milk, eggs and then bread" as a todo', Separator.START),
        ("list todos", Separator.THEN),
    ]


@pytest.mark.parametrize("quoted", ["'a and b'", "\u201ca and b\u201d", "\u2018a, b\u2019"])
def test_other_quote_styles_protect_too(quoted: str) -> None:
    assert len(split_fragments(f"add {quoted} as a todo")) == 1


def test_an_apostrophe_is_not_a_quote() -> None:
    assert _pieces("write Alice's story and Bob's poem") == [
        ("write Alice's story", Separator.START),
        ("Bob's poem", Separator.CLAUSE),
    ]


def test_arithmetic_in_brackets_and_thousands_are_not_split() -> None:
    assert _pieces("calculate (1, 2) and calculate 1,000 + 2") == [
        ("calculate (1, 2)", Separator.START),
        ("calculate 1,000 + 2", Separator.CLAUSE),
    ]


def test_a_then_before_an_empty_piece_is_kept() -> None:
    assert _pieces("a, then , b") == [("a", Separator.START), ("b", Separator.THEN)]
    assert _pieces(", a,, b,") == [("a", Separator.START), ("b", Separator.CLAUSE)]


def test_the_joint_is_the_separator_as_written() -> None:
    fragments = split_fragments("write about cats  and dogs")
    assert fragments[1].joint == "  and "


def test_protected_mask_marks_quotes_and_brackets() -> None:
    text = 'a "b" (c) d'
    marked = "".join(ch for ch, flag in zip(text, protected_mask(text), strict=True) if flag)
    assert marked == '"b"(c)'


def test_unquote() -> None:
    assert unquote(' "buy milk" ') == "buy milk"
    assert unquote("\u201cbuy milk\u201d") == "buy milk"
    assert unquote('"a" and "b"') == '"a" and "b"'
    assert unquote("plain") == "plain"
