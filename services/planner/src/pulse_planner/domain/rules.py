"""The clauses the rule-based planner understands, each turned into one or more steps.

A rule is a case-insensitive pattern the whole clause must match plus a function that
builds step drafts from the match. Rules are tried in order, so the "add the result ..."
rules come before "add <text> as a todo". "Both/all results" become one `todo.add` step
per earlier result, each referring to exactly one step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from pulse_contracts import JsonValue
from pulse_planner.domain.arithmetic import check_expression
from pulse_planner.domain.references import (
    PLURAL_PHRASE,
    SINGULAR_PHRASE,
    earlier_results,
    last_result,
    reference,
    substitute_results,
)
from pulse_planner.domain.text import unquote
from pulse_planner.domain.tools import (
    CALCULATOR,
    COUNTER_INCREMENT,
    LLM_COMPLETE,
    TEXT_REPEAT,
    TODO_ADD,
    TODO_LIST,
)

__all__ = ["HELP", "RULES", "Rule", "RuleMatch", "StepDraft", "match_rule"]


@dataclass(frozen=True)
class StepDraft:
    """A step before it has an id: its tool, input and the earlier steps it refers to."""

    tool: str
    input: dict[str, JsonValue] = field(default_factory=dict)
    refs: tuple[str, ...] = ()


Build = Callable[[re.Match[str], str, Sequence[str]], list[StepDraft]]
"""(match, clause text, earlier step ids) -> the clause's steps."""


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    build: Build
    open_ended: bool = False
    """Ends in free text, so a following fragment no rule knows may belong to it."""


@dataclass(frozen=True)
class RuleMatch:
    rule: Rule
    match: re.Match[str]
    text: str
    """The clause as matched: trimmed of filler words and closing punctuation."""

    def build(self, earlier: Sequence[str]) -> list[StepDraft]:
        return self.rule.build(self.match, self.text, earlier)


def _rule(name: str, pattern: str, build: Build, *, open_ended: bool = False) -> Rule:
    return Rule(name, re.compile(pattern, re.IGNORECASE | re.DOTALL), build, open_ended)


def _calculate(match: re.Match[str], clause: str, earlier: Sequence[str]) -> list[StepDraft]:
    return [StepDraft(CALCULATOR, {"expression": check_expression(match["expr"], clause)})]


def _todo_of_result(match: re.Match[str], clause: str, earlier: Sequence[str]) -> list[StepDraft]:
    step = last_result(match["phrase"], clause, earlier)
    return [StepDraft(TODO_ADD, {"text": reference(step)}, (step,))]


def _todos_of_results(match: re.Match[str], clause: str, earlier: Sequence[str]) -> list[StepDraft]:
    steps = earlier_results(match["phrase"], clause, earlier)
    return [StepDraft(TODO_ADD, {"text": reference(step)}, (step,)) for step in steps]


def _todo_of_text(match: re.Match[str], clause: str, earlier: Sequence[str]) -> list[StepDraft]:
    return [StepDraft(TODO_ADD, {"text": unquote(match["text"])})]


def _list_todos(match: re.Match[str], clause: str, earlier: Sequence[str]) -> list[StepDraft]:
    return [StepDraft(TODO_LIST)]


def _count(match: re.Match[str], clause: str, earlier: Sequence[str]) -> list[StepDraft]:
    # Keys are case-insensitive in the goal and lower-case in the step (and in the store).
    return [StepDraft(COUNTER_INCREMENT, {"key": match["key"].lower()})]


def _repeat(match: re.Match[str], clause: str, earlier: Sequence[str]) -> list[StepDraft]:
    text, refs = substitute_results(unquote(match["text"]), clause, earlier)
    return [StepDraft(TEXT_REPEAT, {"text": text, "times": int(match["times"])}, tuple(refs))]


def _complete(match: re.Match[str], clause: str, earlier: Sequence[str]) -> list[StepDraft]:
    prompt, refs = substitute_results(match["text"].strip(), clause, earlier)
    return [StepDraft(LLM_COMPLETE, {"prompt": prompt}, tuple(refs))]


_TODO: Final = r"(?:todo|to-do)"
_TODO_TARGET: Final = rf"(?:as|to|into|onto|on)\s+(?:an?\s+|my\s+|the\s+)?{_TODO}s?(?:\s+list)?"
_SAVE: Final = r"(?:add|save|put|store|record)"

RULES: Final[tuple[Rule, ...]] = (
    _rule(
        "calculate",
        r"(?:calculate|compute|evaluate|what\s+is|what's|whats|how\s+much\s+is)\s+(?P<expr>.+)",
        _calculate,
    ),
    _rule(
        "todo-of-results",
        rf"{_SAVE}\s+(?P<phrase>{PLURAL_PHRASE}|them(?:\s+all|\s+both)?|all|both)\s+{_TODO_TARGET}",
        _todos_of_results,
    ),
    _rule(
        "todo-of-result",
        rf"{_SAVE}\s+(?P<phrase>{SINGULAR_PHRASE}|it|that|this)\s+{_TODO_TARGET}",
        _todo_of_result,
    ),
    _rule("todo-of-text", rf"{_SAVE}\s+(?P<text>.+?)\s+{_TODO_TARGET}", _todo_of_text),
    _rule(
        "new-todo",
        rf"(?:add|create|make)\s+(?:a\s+)?(?:new\s+)?{_TODO}(?:\s+item)?(?:\s*:\s*|\s+)(?:to\s+)?(?P<text>.+)",
        _todo_of_text,
        open_ended=True,
    ),
    _rule(
        "remember",
        r"(?:remember|remind\s+me)\s+to\s+(?P<text>.+)",
        _todo_of_text,
        open_ended=True,
    ),
    _rule(
        "list-todos",
        rf"(?:(?:list|show|display|get|print|view)(?:\s+me)?(?:\s+all(?:\s+of)?)?(?:\s+(?:my|the))?"
        rf"\s+{_TODO}s?(?:\s+list)?|what\s+are\s+(?:all\s+)?my\s+{_TODO}s)",
        _list_todos,
    ),
    _rule("count", r"(?:count|increment)\s+(?P<key>[a-z0-9_-]{1,64})", _count),
    _rule("repeat", r"repeat\s+(?P<text>.+?)\s+(?P<times>[1-9][0-9]{0,6})\s+times", _repeat),
    _rule(
        "ask-llm",
        r"ask\s+(?:the\s+|an?\s+)?(?:llm|model|ai|assistant|agent)(?:\s*[:,]\s*|\s+)(?:to\s+)?(?P<text>.+)",
        _complete,
        open_ended=True,
    ),
    _rule(
        "write",
        r"(?P<text>(?:write|draft|compose|summari[sz]e|explain|describe|translate)\s+.+)",
        _complete,
        open_ended=True,
    ),
)

HELP: Final = (
    "I understand: "
    + "; ".join(
        (
            "calculate <expression> (or compute, evaluate, what is)",
            'add "<text>" as a todo',
            "add a todo <text>",
            "remember to <text>",
            "add the result as a todo (or add it to my todos)",
            "add both results as todos (or all results)",
            "list all todos (or show my todos)",
            "count <key> (or increment <key>; keys are letters, digits, _ and -)",
            'repeat "<text>" <n> times (or repeat the result <n> times)',
            "ask the llm to <text>",
            "write | draft | summarize | explain | describe <text>",
        )
    )
    + '. Join clauses with "," or "and" to run them in parallel and with "then" to run '
    'them in order; "the result" means the step before. Put text in quotes to keep '
    '"and", "then" or commas inside it.'
)

_FILLER: Final = re.compile(r"^(?:(?:please|first|next|also|finally|and|now)\b[\s,]*)+", re.I)
_CLOSING: Final = re.compile(r"[\s.!?]+$")


def match_rule(clause: str) -> RuleMatch | None:
    """The first rule the whole clause matches, or None."""
    text = _CLOSING.sub("", _FILLER.sub("", clause.strip()))
    for rule in RULES:
        if match := rule.pattern.fullmatch(text):
            return RuleMatch(rule, match, text)
    return None
