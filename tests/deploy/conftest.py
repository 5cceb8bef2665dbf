"""Rendering the Helm chart offline with Helm's own Go library (the helm-python-sdk wheel).

Nothing is installed: the chart is rendered with a set of values and the manifests are read
back. Every test here skips, saying why, when the Helm library or PyYAML is missing. The
helpers that read manifests are in chart.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.deploy.chart import CHART, NAMESPACE, RELEASE, Manifest


class Render(Protocol):
    def __call__(
        self, values: dict[str, Any] | None = None, *, chart: Path = CHART
    ) -> list[Manifest]: ...


@pytest.fixture(scope="session")
def helm() -> Any:
    return pytest.importorskip(
        "helm_python", reason="helm-python-sdk (Helm's library) is not installed"
    )


@pytest.fixture(scope="session")
def yaml() -> Any:
    return pytest.importorskip("yaml", reason="PyYAML is needed to read the rendered manifests")


@pytest.fixture(scope="session")
def render(helm: Any, yaml: Any) -> Render:
    def run(values: dict[str, Any] | None = None, *, chart: Path = CHART) -> list[Manifest]:
        rendered: dict[str, str] = helm.Chart.load(chart).render(
            values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True
        )
        manifests: list[Manifest] = []
        for path, text in sorted(rendered.items()):
            if path.endswith("NOTES.txt"):
                continue
            manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
        return manifests

    return run


@pytest.fixture(scope="session")
def values_file(yaml: Any) -> Callable[[str], dict[str, Any]]:
    def load(relative: str) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load((CHART / relative).read_text())
        return loaded

    return load
