"""`pulse-stack bench`: Pulse's figures as ratios against baselines measured in the same run.

Modules: `params` (scale), `jetstream` (the raw-bus baseline), `runs` (submit goals, follow
their events), `timings` (where a run's time went, from its events), `workloads` (fan-out
and per-step overhead), `stats`, `results` (the saved JSON), `report` (the table), `runner`
(start the stack, measure, stop). The comparison with Temporal and the bus' limit: `dag`
(the shared DAG), `tools`, `comparison` (W1-W3 on any system), `pulse_dag`, `jetstream_dag`,
`temporal_dag` and `temporal_worker`, `memory`, `profiling`, `dag_results`,
`comparison_runner`, `comparison_report`, `chart`. docs/benchmarks.md explains the method.

The names below are loaded on first use, so a process that needs one module only (the
Temporal worker) does not import the whole benchmark.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulse_stack.bench.params import BenchParams
    from pulse_stack.bench.report import render_table, save
    from pulse_stack.bench.results import BenchReport
    from pulse_stack.bench.runner import run_bench

__all__ = ["BenchParams", "BenchReport", "render_table", "run_bench", "save"]

_HOMES = {
    "BenchParams": "pulse_stack.bench.params",
    "BenchReport": "pulse_stack.bench.results",
    "render_table": "pulse_stack.bench.report",
    "save": "pulse_stack.bench.report",
    "run_bench": "pulse_stack.bench.runner",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
