"""promtool (Prometheus's checker) when it is installed (Debian: `apt-get install
prometheus`); the tests that need it skip, saying so, when it is not."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

PromtoolCheck = Callable[[Path], str]


@pytest.fixture(scope="session")
def promtool_check_rules() -> PromtoolCheck:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`)")

    def check(rules: Path) -> str:
        result = subprocess.run(
            [binary, "check", "rules", str(rules)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    return check
