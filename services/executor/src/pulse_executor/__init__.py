"""pulse-executor: the durable DAG engine of Pulse.

It turns a `PlanCreated` into a run, dispatches every ready step at once with its
references resolved, records each `TaskFinished`, and ends the run completed, failed or
rejected. Run state lives in the `pulse_run_state` KV bucket, written with compare-and-set,
so replicas share the work and a redelivered message changes nothing twice.
"""

from pulse_executor.app import ExecutorService, create_app, create_service, main
from pulse_executor.config import Settings
from pulse_executor.coordinator import (
    EffectsNotPublishedError,
    RunCoordinator,
    StateContentionError,
)

__all__ = [
    "EffectsNotPublishedError",
    "ExecutorService",
    "RunCoordinator",
    "Settings",
    "StateContentionError",
    "create_app",
    "create_service",
    "main",
]
