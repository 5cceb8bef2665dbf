"""What "the result" and "both results" mean in a clause, and the reference strings for them.

"The result" is the last step of the previous clause — or, for the first clause after a
"then", the last step of the previous group. "Both/all results" are every step of the
earlier clauses of the same group, or, after a "then", every step of the previous group.
The planner passes those step ids in as `earlier`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from pulse_contracts import PlanningFailed
from pulse_planner.domain.text import protected_mask

__all__ = [
    "PLURAL_PHRASE",
    "SINGULAR_PHRASE",
    "earlier_results",
    "last_result",
    "reference",
    "substitute_results",
]

PLURAL_PHRASE: Final = r"(?:both|all(?:\s+the)?|the|these|those)\s+(?:results|answers|outputs)"
SINGULAR_PHRASE: Final = r"(?:the|that|this)\s+(?:(?:previous|last)\s+)?(?:result|answer|output)"
_RESULT_PHRASE: Final = re.compile(
    rf"\b(?:(?P<plural>{PLURAL_PHRASE})|(?P<singular>{SINGULAR_PHRASE}))\b", re.IGNORECASE
)


def reference(step_id: str) -> str:
    """The reference string to a step's whole output, e.g. `{{steps.s1.output}}`."""
    return "{{steps." + step_id + ".output}}"


def last_result(phrase: str, clause: str, earlier: Sequence[str]) -> str:
    """The step "the result" in `clause` points at; PlanningFailed if there is none."""
    if not earlier:
        raise PlanningFailed(
            f'"{clause}": "{phrase}" refers to an earlier step, but nothing comes before it'
        )
    return earlier[-1]


def earlier_results(phrase: str, clause: str, earlier: Sequence[str]) -> list[str]:
    """The steps "both/all results" in `clause` point at; "both" needs exactly two."""
    if not earlier:
        raise PlanningFailed(
            f'"{clause}": "{phrase}" refers to earlier steps, but nothing comes before it'
        )
    if phrase.lower().startswith("both") and len(earlier) != 2:
        raise PlanningFailed(
            f'"{clause}": "{phrase}" needs exactly two earlier steps, found {len(earlier)} '
            f'({", ".join(earlier)}); say "all results" instead'
        )
    return list(earlier)


def _joined(references: list[str]) -> str:
    if len(references) == 1:
        return references[0]
    return ", ".join(references[:-1]) + " and " + references[-1]


def substitute_results(text: str, clause: str, earlier: Sequence[str]) -> tuple[str, list[str]]:
    """Replace result phrases outside quotes with references; return text and step ids.

    The new text is assembled from slices of the user's text and reference strings built
    from our own step ids: user text is never used as a template.
    """
    mask = protected_mask(text)
    pieces: list[str] = []
    used: list[str] = []
    position = 0
    for match in _RESULT_PHRASE.finditer(text):
        if any(mask[match.start() : match.end()]):
            continue
        phrase = match.group(0)
        if match.group("plural"):
            steps = earlier_results(phrase, clause, earlier)
        else:
            steps = [last_result(phrase, clause, earlier)]
        pieces += [text[position : match.start()], _joined([reference(s) for s in steps])]
        used += [s for s in steps if s not in used]
        position = match.end()
    pieces.append(text[position:])
    return "".join(pieces), used
