"""The archiver's logic, free of SQL and messaging: events in, run and step rows out.

`project` turns one run event into the rows it implies; `merge` combines them with what is
archived already by per-column rules that make the result independent of arrival order.
"""

from pulse_archiver.domain.merge import RUN_RULES, STEP_RULES, Rule, merge
from pulse_archiver.domain.projection import (
    History,
    Projection,
    fold,
    order_steps,
    project,
    step_id_of,
)
from pulse_archiver.domain.rows import NO_STATE, ArchivedRun, RunRow, StepRow
from pulse_archiver.domain.stored import StoredValues, refs_of

__all__ = [
    "NO_STATE",
    "RUN_RULES",
    "STEP_RULES",
    "ArchivedRun",
    "History",
    "Projection",
    "Rule",
    "RunRow",
    "StepRow",
    "StoredValues",
    "fold",
    "merge",
    "order_steps",
    "project",
    "refs_of",
    "step_id_of",
]
