"""`pulse-stack up` tells a local Prometheus where the services' /metrics are."""

from __future__ import annotations

import json
from pathlib import Path

from pulse_stack.launcher import SERVICES, RunningService, Stack
from pulse_stack.servers import ServerProcess


def test_every_running_service_is_a_file_sd_target(tmp_path: Path) -> None:
    stack = Stack(state_dir=tmp_path)
    for port, spec in enumerate(SERVICES, start=9100):
        stack.running.append(RunningService(spec, port, ServerProcess(spec.name, tmp_path / "x")))
    extra = SERVICES[1]
    stack.running.append(RunningService(extra, 9200, ServerProcess(extra.name, tmp_path / "y"), 1))

    groups = json.loads(json.dumps(stack.scrape_targets()))  # what file_sd reads back

    assert len(groups) == len(SERVICES) + 1
    by_target = {g["targets"][0]: g["labels"] for g in groups}
    assert by_target["127.0.0.1:9100"] == {"service": SERVICES[0].name, "replica": "0"}
    assert by_target["127.0.0.1:9200"] == {"service": extra.name, "replica": "1"}
    assert {labels["service"] for labels in by_target.values()} == {s.name for s in SERVICES}
