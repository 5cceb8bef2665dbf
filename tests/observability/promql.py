"""Which metrics and labels a PromQL expression reads — enough of PromQL to check names.

Not a parser: the expression is reduced step by step (string literals blanked, label
matchers, ranges and `by (...)`-style label lists lifted out), and what remains is a stream
of identifiers. An identifier followed by `(` is a function or an aggregation; the PromQL
keywords are dropped; every other identifier is a metric name. Grafana's `$variables` may
appear in strings and ranges, where they are blanked with the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["KEYWORDS", "Selector", "Usage", "read_expression"]

# Words PromQL reserves (binary and set operators, modifiers, aggregations that may be
# written `sum by (x) (...)`) and its special numbers.
KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "atan2",
        "inf",
        "nan",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    }
)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)", re.IGNORECASE
)
_SELECTOR = re.compile(r"(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)?\s*\{(?P<matchers>[^{}]*)\}")
_MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Numbers (with duration units, as after `offset`) come first so that `1e3` or `5m` never
# yields an identifier; `call` marks an identifier that opens a function or aggregation.
_TOKEN = re.compile(
    r"(?P<number>(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)(?:ms|[smhdwy])*)"
    r"|(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)(?P<call>\s*\()?"
)


@dataclass(frozen=True)
class Selector:
    """A vector selector: the metric it names and the labels its matchers test."""

    metric: str
    labels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Usage:
    selectors: tuple[Selector, ...]
    # Labels named in by/without/on/ignoring/group_left/group_right anywhere in the expression.
    grouping: frozenset[str] = field(default_factory=frozenset)

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(s.metric for s in self.selectors)


def read_expression(expr: str) -> Usage:
    """The selectors and grouping labels of one PromQL expression."""
    text = _STRING.sub('""', expr)
    text = _RANGE.sub("", text)
    grouping: set[str] = set()

    def lift_grouping(match: re.Match[str]) -> str:
        grouping.update(_LABEL.findall(match.group(1)))
        return " "

    text = _GROUPING.sub(lift_grouping, text)
    selectors: list[Selector] = []

    def lift_selector(match: re.Match[str]) -> str:
        labels = frozenset(_MATCHER_LABEL.findall(match.group("matchers")))
        name = match.group("name")
        if name is None or name in KEYWORDS:
            # `{__name__="x"}` or a keyword right before a brace: not a named selector.
            raise ValueError(f"unsupported selector {match.group(0)!r} in {expr!r}")
        selectors.append(Selector(name, labels))
        return " "

    text = _SELECTOR.sub(lift_selector, text)
    for token in _TOKEN.finditer(text):
        name = token.group("ident")
        if name is None or token.group("call") or name.lower() in KEYWORDS:
            continue
        selectors.append(Selector(name))
    return Usage(tuple(selectors), frozenset(grouping))
