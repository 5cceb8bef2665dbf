"""Plan cache keys and the rules for reusing a plan made for another goal.

A cached plan belongs to one tenant and one catalogue version (a plan is only valid for
the tools it was checked against). The exact layer keys on the normalised goal: Unicode
NFKC, whitespace collapsed, closing punctuation dropped, and letters folded to lower case
except inside quotes — quoted text ends up in step inputs verbatim, so `add "Buy Milk"`
and `add "buy milk"` are different plans. The semantic layer reuses a plan for a goal
that means the same, but only when both goals carry exactly the same literals (numbers
and quoted text): "calculate 5 * 3" and "calculate 5 * 4" are close in meaning and
different plans.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Final

from pydantic import BaseModel, Field

from pulse_contracts import Plan
from pulse_planner.domain.text import protected_mask

__all__ = [
    "CachedPlan",
    "cosine_similarity",
    "exact_key",
    "literal_signature",
    "normalise_goal",
    "scope_prefix",
]

_SPACES: Final = re.compile(r"\s+")
_NUMBER: Final = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED: Final = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d|'[^']*'")
_KEY_TOKEN: Final = re.compile(r"[^A-Za-z0-9_-]")


class CachedPlan(BaseModel):
    """One cache entry: a validated plan, what made it, and what is needed to match it."""

    goal: str = Field(description="The normalised goal.")
    plan: Plan
    planner: str
    stored_at: float = Field(description="Unix time the plan was stored.")
    literals: list[str] = Field(default_factory=list)
    embedding: list[float] | None = None
    embedding_model: str | None = None

    def fresh(self, now: float, ttl_s: float) -> bool:
        return now - self.stored_at < ttl_s


def normalise_goal(goal: str) -> str:
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", goal)).strip().rstrip(".!? ")
    mask = protected_mask(text)
    return "".join(ch if kept else ch.casefold() for ch, kept in zip(text, mask, strict=True))


def literal_signature(goal: str) -> list[str]:
    """The numbers and quoted texts of a goal, sorted: what a semantic match must share."""
    text = unicodedata.normalize("NFKC", goal)
    return sorted([*_NUMBER.findall(text), *_QUOTED.findall(text)])


def _token(value: str) -> str:
    return _KEY_TOKEN.sub("_", value) or "_"


def scope_prefix(tenant: str, catalogue_version: str) -> str:
    """The key prefix of every plan cached for one tenant and catalogue version."""
    return f"plan.{_token(tenant)}.{_token(catalogue_version)}"


def exact_key(tenant: str, catalogue_version: str, goal: str) -> str:
    digest = hashlib.sha256(normalise_goal(goal).encode()).hexdigest()[:40]
    return f"{scope_prefix(tenant, catalogue_version)}.{digest}"


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b) or not a:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
