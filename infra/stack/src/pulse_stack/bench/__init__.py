"""`pulse-stack bench`: Pulse's figures as ratios against baselines measured in the same run.

Modules: `params` (scale), `jetstream` (the raw-bus baseline), `runs` (submit goals, follow
their events), `timings` (where a run's time went, from its events), `workloads` (fan-out
and per-step overhead), `stats`, `results` (the saved JSON), `report` (the table), `runner`
(start the stack, measure, stop). docs/benchmarks.md explains the method.
"""

from pulse_stack.bench.params import BenchParams
from pulse_stack.bench.report import render_table, save
from pulse_stack.bench.results import BenchReport
from pulse_stack.bench.runner import run_bench

__all__ = ["BenchParams", "BenchReport", "render_table", "run_bench", "save"]
