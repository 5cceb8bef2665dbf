"""Every NATS subject, stream, consumer and key-value bucket name Pulse uses.

Nothing else in the code base spells a subject: import it from here.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DLQ_PREFIX",
    "DLQ_WILDCARD",
    "KV_RUN_STATE",
    "KV_TODOS",
    "PLANS_CREATED",
    "PLANS_REJECTED",
    "PLANS_WILDCARD",
    "RUNS_REQUESTED",
    "RUN_EVENTS_PREFIX",
    "RUN_EVENTS_WILDCARD",
    "STREAM_DLQ",
    "STREAM_EVENTS",
    "STREAM_RUNS",
    "STREAM_SUBJECTS",
    "STREAM_TASKS",
    "TASKS_DISPATCH_PREFIX",
    "TASKS_DISPATCH_WILDCARD",
    "TASKS_RESULT",
    "Durable",
    "dispatch_subject",
    "dlq_subject",
    "run_events_subject",
]

# --- runs: how work enters Pulse -------------------------------------------------------
RUNS_REQUESTED: Final = "pulse.runs.requested"
"""Any system starts a run by publishing a `RunRequested` here (with `Nats-Msg-Id`)."""

RUN_EVENTS_PREFIX: Final = "pulse.runs.events"
RUN_EVENTS_WILDCARD: Final = f"{RUN_EVENTS_PREFIX}.>"

# --- plans: planner -> executor ---------------------------------------------------------
PLANS_CREATED: Final = "pulse.plans.created"
PLANS_REJECTED: Final = "pulse.plans.rejected"
PLANS_WILDCARD: Final = "pulse.plans.>"

# --- tasks: executor <-> agent-adapter --------------------------------------------------
TASKS_DISPATCH_PREFIX: Final = "pulse.tasks.dispatch"
TASKS_DISPATCH_WILDCARD: Final = f"{TASKS_DISPATCH_PREFIX}.>"
TASKS_RESULT: Final = "pulse.tasks.result"

# --- dead letters -------------------------------------------------------------------------
DLQ_PREFIX: Final = "pulse.dlq"
DLQ_WILDCARD: Final = f"{DLQ_PREFIX}.>"

# --- streams ------------------------------------------------------------------------------
STREAM_RUNS: Final = "PULSE_RUNS"
STREAM_TASKS: Final = "PULSE_TASKS"
STREAM_EVENTS: Final = "PULSE_EVENTS"
STREAM_DLQ: Final = "PULSE_DLQ"

# JetStream refuses streams whose subjects overlap, so PULSE_RUNS lists the run subjects
# it owns explicitly instead of `pulse.runs.>` (which would swallow the events).
STREAM_SUBJECTS: Final[dict[str, tuple[str, ...]]] = {
    STREAM_RUNS: (RUNS_REQUESTED, PLANS_WILDCARD),
    STREAM_TASKS: (TASKS_DISPATCH_WILDCARD, TASKS_RESULT),
    STREAM_EVENTS: (RUN_EVENTS_WILDCARD,),
    STREAM_DLQ: (DLQ_WILDCARD,),
}

# --- key-value buckets ----------------------------------------------------------------------
KV_RUN_STATE: Final = "pulse_run_state"
KV_TODOS: Final = "pulse_todos"


class Durable:
    """Durable consumer names: one per (service, subscription); replicas share them."""

    PLANNER: Final = "planner"
    EXECUTOR_PLANS: Final = "executor-plans"
    EXECUTOR_REJECTIONS: Final = "executor-rejections"
    EXECUTOR_RESULTS: Final = "executor-results"
    AGENT_ADAPTER: Final = "agent-adapter"
    ARCHIVER: Final = "archiver"


def _token(value: str) -> str:
    if not value or any(ch in value for ch in ". *>\t\r\n"):
        raise ValueError(f"{value!r} is not a valid NATS subject token")
    return value


def run_events_subject(run_id: str) -> str:
    """Subject carrying every event of one run: `pulse.runs.events.<run_id>`."""
    return f"{RUN_EVENTS_PREFIX}.{_token(run_id)}"


def dispatch_subject(agent: str) -> str:
    """Subject an agent's tasks are dispatched on: `pulse.tasks.dispatch.<agent>`."""
    return f"{TASKS_DISPATCH_PREFIX}.{_token(agent)}"


def dlq_subject(consumer: str) -> str:
    """Dead-letter subject of one durable consumer: `pulse.dlq.<consumer>`."""
    return f"{DLQ_PREFIX}.{_token(consumer)}"
