"""The observability files under test, read once, and the metric catalogue they are checked
against (metrics.yaml beside this module). Shared by tests/observability and the e2e check."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ALERTS",
    "COLLECTOR",
    "DASHBOARD",
    "ROOT",
    "RUNBOOK",
    "Catalogue",
    "MetricSpec",
    "expressions",
    "load_alerts",
    "load_dashboard",
    "markdown_anchors",
]

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "infra" / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "pulse-overview.json"
ALERTS = OBSERVABILITY / "prometheus" / "alerts.yaml"
COLLECTOR = OBSERVABILITY / "otel-collector" / "config.yaml"
RUNBOOK = ROOT / "docs" / "runbook.md"
CATALOGUE = Path(__file__).with_name("metrics.yaml")

_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def load_dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def load_alerts() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ALERTS.read_text())
    return loaded


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every dashboard target and every alert expression."""
    for panel in dashboard_panels(load_dashboard()):
        for target in panel.get("targets", []):
            yield f"dashboard panel {panel['title']!r} {target['refId']}", target["expr"]
    for group in load_alerts()["groups"]:
        for rule in group["rules"]:
            yield f"alert {rule.get('alert') or rule.get('record')}", rule["expr"]


def markdown_anchors(text: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings (lower case, punctuation dropped,
    spaces to hyphens; repeats get -1, -2...)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if in_code or not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: str
    labels: frozenset[str]
    services: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    metrics: dict[str, MetricSpec]
    scrape_generated: dict[str, MetricSpec]
    target_labels: frozenset[str]

    @classmethod
    def load(cls, path: Path = CATALOGUE) -> Catalogue:
        raw: dict[str, Any] = yaml.safe_load(path.read_text())

        def specs(entries: dict[str, dict[str, Any]]) -> dict[str, MetricSpec]:
            return {
                name: MetricSpec(
                    name,
                    entry["type"],
                    frozenset(entry.get("labels", [])),
                    tuple(entry.get("services", [])),
                )
                for name, entry in entries.items()
            }

        return cls(
            specs(raw["metrics"]),
            specs(raw.get("scrape_generated", {})),
            frozenset(raw.get("target_labels", [])),
        )

    def resolve(self, series: str) -> MetricSpec | None:
        """The metric a series name belongs to (`x_bucket` → histogram `x`), or None."""
        known = self.metrics | self.scrape_generated
        if series in known:
            return known[series]
        for suffix in _HISTOGRAM_SERIES:
            base = series.removesuffix(suffix)
            if base != series and base in known and known[base].type in {"histogram", "summary"}:
                return known[base]
        return None

    def labels_of(self, series: str) -> frozenset[str]:
        """Labels a selector of `series` may test: its own, `le` for buckets, target labels."""
        spec = self.resolve(series)
        own = spec.labels if spec else frozenset()
        extra = {"le"} if series.endswith("_bucket") else set()
        return own | extra | self.target_labels | {"__name__"}
