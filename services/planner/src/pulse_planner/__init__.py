"""pulse-planner: turns each `RunRequested` goal into a `PlanCreated` DAG or a `PlanRejected`.

Run it with `pulse-planner` or `python -m pulse_planner`; build it in tests with
`create_app(PlannerSettings(...))`.
"""

from pulse_planner.app import asyncapi, create_app, main
from pulse_planner.config import PlannerSettings

__all__ = ["PlannerSettings", "asyncapi", "create_app", "main"]
