"""The Pulse workloads: goals the rule-based planner turns into known DAG shapes.

- fan-out: `width` independent `llm.complete` steps ("... and ask the llm to ...") against
  the same steps chained ("..., then ask the llm to ..."), each answering after
  `step_latency_ms` (the offline provider's simulated latency). Runs of the two shapes
  alternate, one at a time, so slow moments of a busy machine hit both alike.
- overhead: chains of `calculator` steps, a tool that takes microseconds, so nearly all of
  a run's time is orchestration.

Every goal carries a fresh tag, so no cache anywhere can answer a step from an earlier run.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence

from pulse_contracts.events import RunStarted
from pulse_stack.bench.params import BenchParams
from pulse_stack.bench.results import FanoutResult, OverheadResult, RunShapeResult
from pulse_stack.bench.runs import RunDriver, RunRecord
from pulse_stack.bench.stats import summarize
from pulse_stack.bench.timings import IncompleteRunError, RunTiming, handoffs, run_timing

__all__ = [
    "BenchError",
    "calculator_chain_goal",
    "llm_chain_goal",
    "llm_fanout_goal",
    "measure_fanout",
    "measure_overhead",
    "warm_up",
]

Note = Callable[[str], None]


class BenchError(RuntimeError):
    """A workload could not be measured (e.g. the planner made another shape)."""


def _tag() -> str:
    return secrets.token_hex(3)


def llm_fanout_goal(width: int, tag: str) -> str:
    return " and ".join(
        f"ask the llm to write note {i} of batch {tag}" for i in range(1, width + 1)
    )


def llm_chain_goal(width: int, tag: str) -> str:
    return ", then ".join(
        f"ask the llm to write note {i} of batch {tag}" for i in range(1, width + 1)
    )


def calculator_chain_goal(length: int, seed: int) -> str:
    return ", then ".join(f"calculate {seed} + {i}" for i in range(1, length + 1))


def _check_shape(record: RunRecord, steps: int, *, chained: bool) -> None:
    started = next((e for e in record.events if isinstance(e, RunStarted)), None)
    if started is None:
        raise BenchError(f"run {record.run_id} never started ({record.status}): {record.goal}")
    plan = started.plan.steps
    expected = [[plan[i - 1].id] if chained and i else [] for i in range(len(plan))]
    if len(plan) != steps or [s.depends_on for s in plan] != expected:
        shape = {s.id: s.depends_on for s in plan}
        raise BenchError(
            f"the planner made {shape} of {record.goal!r}; expected {steps} "
            + ("chained" if chained else "independent")
            + " steps"
        )


def _timings(records: Sequence[RunRecord], note: Note, label: str) -> list[RunTiming]:
    usable: list[RunTiming] = []
    for record in records:
        if record.status != "completed":
            note(f"{label}: run {record.run_id} ended {record.status}; left out")
            continue
        try:
            usable.append(run_timing(record.events))
        except IncompleteRunError as exc:
            note(f"{label}: run {record.run_id} lacks events ({exc}); left out")
    if not usable:
        raise BenchError(f"{label}: no run completed with all its events")
    return usable


def _ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def _shape(
    records: Sequence[RunRecord], timings: Sequence[RunTiming], critical_path_ms: float
) -> RunShapeResult:
    done = {t.run_id for t in timings}
    return RunShapeResult(
        goal_example=records[0].goal,
        runs=len(records),
        completed=len(timings),
        critical_path_ms=critical_path_ms,
        span_ms=summarize(_ms([t.span_s for t in timings])),
        end_to_end_ms=summarize(_ms([r.end_to_end_s for r in records if r.run_id in done])),
        finish_ms=summarize(_ms([t.finish_s for t in timings])),
        tool_ms=summarize(_ms([s.tool_s for t in timings for s in t.steps.values()])),
        spans_ms=[round(t.span_s * 1000, 3) for t in timings],
    )


async def warm_up(driver: RunDriver, params: BenchParams) -> None:
    """Unmeasured runs of both tools, so first-use costs (imports, connections) are paid."""
    for i in range(params.warmup_runs):
        await driver.run(calculator_chain_goal(3, 9000 + i), timeout_s=params.run_timeout_s)
        await driver.run(llm_fanout_goal(2, _tag()), timeout_s=params.run_timeout_s)


async def measure_fanout(driver: RunDriver, params: BenchParams, note: Note) -> FanoutResult:
    parallel: list[RunRecord] = []
    chain: list[RunRecord] = []
    width = params.fanout_width
    for _ in range(params.fanout_repeats):
        record = await driver.run(llm_fanout_goal(width, _tag()), timeout_s=params.run_timeout_s)
        _check_shape(record, width, chained=False)
        parallel.append(record)
        record = await driver.run(llm_chain_goal(width, _tag()), timeout_s=params.run_timeout_s)
        _check_shape(record, width, chained=True)
        chain.append(record)
    parallel_timings = _timings(parallel, note, "fan-out")
    chain_timings = _timings(chain, note, "chain")
    return FanoutResult(
        width=width,
        step_latency_ms=params.step_latency_ms,
        parallel=_shape(parallel, parallel_timings, params.fanout_critical_path_ms),
        chain=_shape(chain, chain_timings, params.chain_critical_path_ms),
        parallel_start_spread_ms=summarize(_ms([t.start_spread_s for t in parallel_timings])),
    )


async def measure_overhead(driver: RunDriver, params: BenchParams, note: Note) -> OverheadResult:
    length = params.chain_length
    goals = [calculator_chain_goal(length, 100 + i) for i in range(params.overhead_runs)]
    began = time.perf_counter()
    records = await driver.run_all(
        goals, concurrency=params.overhead_concurrency, timeout_s=params.run_timeout_s
    )
    elapsed = time.perf_counter() - began
    _check_shape(records[0], length, chained=True)
    timings = _timings(records, note, "overhead")
    done = {t.run_id for t in timings}
    links = [h for t in timings for h in handoffs(t)]
    return OverheadResult(
        chain_length=length,
        runs=len(records),
        completed=len(timings),
        concurrency=params.overhead_concurrency,
        handoff_ms=summarize(_ms([h.total_s for h in links])),
        dispatch_hop_ms=summarize(_ms([h.dispatch_hop_s for h in links])),
        result_hop_ms=summarize(_ms([h.result_hop_s for h in links])),
        tool_ms=summarize(_ms([s.tool_s for t in timings for s in t.steps.values()])),
        finish_ms=summarize(_ms([t.finish_s for t in timings])),
        span_per_step_ms=summarize(_ms([t.span_s / len(t.steps) for t in timings])),
        end_to_end_ms=summarize(_ms([r.end_to_end_s for r in records if r.run_id in done])),
        runs_per_s=len(timings) / elapsed if elapsed > 0 else 0.0,
    )
