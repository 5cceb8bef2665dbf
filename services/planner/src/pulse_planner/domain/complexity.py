"""How complex a goal is, to send it to a cheaper or a stronger planning agent.

A transparent score, not a model: every clause the goal chains, every word that asks for
reasoning (compare, design, analyse…), every condition or loop, and its length add
points. A goal scoring at least the threshold is complex. The reasons are kept so the
routing can be logged and explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pulse_planner.domain.text import split_fragments

__all__ = ["Complexity", "ComplexityAssessment", "assess_complexity"]

DEFAULT_THRESHOLD: Final = 6

_REASONING: Final = re.compile(
    r"\b(?:analy[sz]e|analysis|compare|comparison|design|architect\w*|plan|strategy|"
    r"research|evaluate|assess|review|critique|optimi[sz]e|trade-?offs?|justify|why|"
    r"prioriti[sz]e|investigate|diagnose|refactor)\b",
    re.IGNORECASE,
)
_CONTROL: Final = re.compile(
    r"\b(?:if|unless|otherwise|else|for each|for every|each of|until|while|whether)\b",
    re.IGNORECASE,
)
_WORDS_PER_POINT: Final = 25


class Complexity(StrEnum):
    SIMPLE = "simple"
    COMPLEX = "complex"


@dataclass(frozen=True)
class ComplexityAssessment:
    level: Complexity
    score: int
    reasons: tuple[str, ...]


def assess_complexity(goal: str, threshold: int = DEFAULT_THRESHOLD) -> ComplexityAssessment:
    # The rule grammar's own separators (",", ";", "and", "then"; never inside quotes),
    # over lines, so a bulleted list counts its items too.
    clauses = max(1, sum(len(split_fragments(line)) for line in goal.splitlines()))
    reasoning = len(_REASONING.findall(goal))
    control = len(_CONTROL.findall(goal))
    words = len(goal.split())
    score = (clauses - 1) + 2 * reasoning + 2 * control + words // _WORDS_PER_POINT
    reasons = tuple(
        reason
        for reason, present in (
            (f"{clauses} clauses", clauses > 1),
            (f"{reasoning} reasoning words", reasoning > 0),
            (f"{control} conditions or loops", control > 0),
            (f"{words} words", words >= _WORDS_PER_POINT),
        )
        if present
    )
    level = Complexity.COMPLEX if score >= threshold else Complexity.SIMPLE
    return ComplexityAssessment(level, score, reasons)
