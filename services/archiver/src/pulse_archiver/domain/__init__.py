"""The archiver's logic, free of SQL and messaging: events in, run and step rows out.

`project` turns one run event into the rows it implies; `merge` combines them with what is
archived already by per-column rules that make the result independent of arrival order;
`batch_rows` orders (and, where the rules allow, merges) the rows of many events that one
transaction writes.
"""

from pulse_archiver.domain.batch import BatchRows, associative, batch_rows
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
    "BatchRows",
    "History",
    "Projection",
    "Rule",
    "RunRow",
    "StepRow",
    "StoredValues",
    "associative",
    "batch_rows",
    "fold",
    "merge",
    "order_steps",
    "project",
    "refs_of",
    "step_id_of",
]
