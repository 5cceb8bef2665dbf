"""The executor's Prometheus metrics, counted from the state changes it applied.

- `pulse_run_status_total{status}` — runs entering a status: `working` (started or
  restarted), then one terminal status per life (`completed`, `failed`, `canceled`,
  `rejected`); so `working` minus the terminal ones is the number of runs in flight.
- `pulse_run_duration_seconds{status}` — a run's life, from its creation (or restart) to
  its terminal status.
- `pulse_step_executions_total{tool,status}` — attempts of steps ending `completed`,
  `failed`, `retried` (failed, another attempt is scheduled), `timed_out` or `canceled`.
- `pulse_step_queue_wait_seconds{tool}` — from dispatching an attempt to its agent
  starting it (the agent's `started_at`), for attempts whose result came back.

Counted where the compare-and-set write succeeded, so a redelivered message or a replica
that lost the race counts nothing: each change is counted once, by the replica whose
write applied it.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram

from pulse_executor.state_changes import StateChange

__all__ = ["ExecutorMetrics"]

# Runs last from seconds (tools) to an hour (the default deadline) or more.
_RUN_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
# Queue waits are milliseconds when agents keep up, minutes when they do not.
_WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class ExecutorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.run_status = Counter(
            "pulse_run_status",
            "Runs entering a status (working on start and restart, then a terminal one).",
            ["status"],
            registry=registry,
        )
        self.run_duration = Histogram(
            "pulse_run_duration_seconds",
            "A run's life, from creation or restart to its terminal status.",
            ["status"],
            buckets=_RUN_BUCKETS,
            registry=registry,
        )
        self.step_executions = Counter(
            "pulse_step_executions",
            "Step attempts by how they ended: completed, failed, retried, timed_out, canceled.",
            ["tool", "status"],
            registry=registry,
        )
        self.queue_wait = Histogram(
            "pulse_step_queue_wait_seconds",
            "From dispatching a step's attempt to its agent starting it.",
            ["tool"],
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )

        # Labelled children, looked up once per label set: `labels()` builds and checks
        # its key on every call, and these are counted for every step of every run (the
        # registry keeps every child anyway, so this holds nothing more).
        self._counters: dict[tuple[int, tuple[str, ...]], Counter] = {}
        self._histograms: dict[tuple[int, tuple[str, ...]], Histogram] = {}

    def _counter(self, metric: Counter, *labels: str) -> Counter:
        key = (id(metric), labels)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = metric.labels(*labels)
        return child

    def _histogram(self, metric: Histogram, *labels: str) -> Histogram:
        key = (id(metric), labels)
        child = self._histograms.get(key)
        if child is None:
            child = self._histograms[key] = metric.labels(*labels)
        return child

    def record(self, changes: list[StateChange]) -> None:
        for change in changes:
            if change.run_status is not None:
                status = change.run_status.value
                self._counter(self.run_status, status).inc()
                if change.run_status.is_terminal and change.duration_s is not None:
                    self._histogram(self.run_duration, status).observe(change.duration_s)
            elif change.step_outcome is not None and change.tool is not None:
                self._counter(self.step_executions, change.tool, change.step_outcome).inc()

    def waited(self, tool: str, dispatched_at: datetime, started_at: datetime) -> None:
        # Clocks of the executor and the agent differ a little: never a negative wait.
        seconds = max(0.0, (started_at - dispatched_at).total_seconds())
        self._histogram(self.queue_wait, tool).observe(seconds)
