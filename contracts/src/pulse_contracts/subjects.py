"""Every NATS subject, stream, consumer and key-value bucket name Pulse uses.

Nothing else in the code base spells a subject: import it from here.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DLQ_PREFIX",
    "DLQ_WILDCARD",
    "KV_COUNTERS",
    "KV_LLM_BUDGETS",
    "KV_LLM_CACHE",
    "KV_LLM_USAGE",
    "KV_PLAN_CACHE",
    "KV_RATE_LIMITS",
    "KV_RUN_STATE",
    "KV_TODOS",
    "KV_TOOLS",
    "LLM_QUEUE_GROUP",
    "LLM_REQUESTS",
    "OBJ_OUTPUTS",
    "PLANS_CREATED",
    "PLANS_REJECTED",
    "PLANS_WILDCARD",
    "RUNS_CANCEL",
    "RUNS_CONTROL_PREFIX",
    "RUNS_CONTROL_WILDCARD",
    "RUNS_REQUESTED",
    "RUNS_RESTART",
    "RUN_EVENTS_PREFIX",
    "RUN_EVENTS_WILDCARD",
    "STREAM_DLQ",
    "STREAM_EVENTS",
    "STREAM_RUNS",
    "STREAM_SUBJECTS",
    "STREAM_TASKS",
    "STREAM_TIMERS",
    "TASKS_CANCEL_PREFIX",
    "TASKS_CANCEL_WILDCARD",
    "TASKS_DISPATCH_PREFIX",
    "TASKS_DISPATCH_WILDCARD",
    "TASKS_RESULT",
    "TIMERS_FIRED_PREFIX",
    "TIMERS_FIRED_WILDCARD",
    "TIMERS_PREFIX",
    "TIMERS_SCHEDULE_PREFIX",
    "TIMERS_WILDCARD",
    "Durable",
    "dispatch_subject",
    "dlq_subject",
    "run_events_subject",
    "task_cancel_subject",
    "timer_fired_subject",
    "timer_schedule_subject",
]

# --- runs: how work enters Pulse -------------------------------------------------------
RUNS_REQUESTED: Final = "pulse.runs.requested"
"""Any system starts a run by publishing a `RunRequested` here (with `Nats-Msg-Id`)."""

RUNS_CONTROL_PREFIX: Final = "pulse.runs.control"
RUNS_CONTROL_WILDCARD: Final = f"{RUNS_CONTROL_PREFIX}.>"
RUNS_CANCEL: Final = f"{RUNS_CONTROL_PREFIX}.cancel"
"""`CancelRun` commands (the gateway's `POST /v1/runs/{id}/cancel`), for the executor."""
RUNS_RESTART: Final = f"{RUNS_CONTROL_PREFIX}.restart"
"""`RestartRun` commands (the gateway's `POST /v1/runs/{id}/restart`), for the executor."""

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
TASKS_CANCEL_PREFIX: Final = "pulse.tasks.cancel"
TASKS_CANCEL_WILDCARD: Final = f"{TASKS_CANCEL_PREFIX}.>"
"""`CancelTask` broadcasts on core NATS: every agent-adapter replica hears them. No stream
holds them, so PULSE_TASKS must keep listing its subjects instead of `pulse.tasks.>`."""

# --- timers: the executor's delayed messages (JetStream message scheduling) -------------
TIMERS_PREFIX: Final = "pulse.timers"
TIMERS_WILDCARD: Final = f"{TIMERS_PREFIX}.>"
TIMERS_SCHEDULE_PREFIX: Final = f"{TIMERS_PREFIX}.schedule"
"""One subject per pending timer: a newer schedule on the same subject replaces the older."""
TIMERS_FIRED_PREFIX: Final = f"{TIMERS_PREFIX}.fired"
TIMERS_FIRED_WILDCARD: Final = f"{TIMERS_FIRED_PREFIX}.>"

# --- dead letters -------------------------------------------------------------------------
DLQ_PREFIX: Final = "pulse.dlq"
DLQ_WILDCARD: Final = f"{DLQ_PREFIX}.>"

# --- streams ------------------------------------------------------------------------------
STREAM_RUNS: Final = "PULSE_RUNS"
STREAM_TASKS: Final = "PULSE_TASKS"
STREAM_EVENTS: Final = "PULSE_EVENTS"
STREAM_DLQ: Final = "PULSE_DLQ"
STREAM_TIMERS: Final = "PULSE_TIMERS"
"""Work-queue stream with message schedules allowed (nats-server >= 2.12)."""

# JetStream refuses streams whose subjects overlap, so PULSE_RUNS lists the run subjects
# it owns explicitly instead of `pulse.runs.>` (which would swallow the events).
STREAM_SUBJECTS: Final[dict[str, tuple[str, ...]]] = {
    STREAM_RUNS: (RUNS_REQUESTED, PLANS_WILDCARD, RUNS_CONTROL_WILDCARD),
    STREAM_TASKS: (TASKS_DISPATCH_WILDCARD, TASKS_RESULT),
    STREAM_EVENTS: (RUN_EVENTS_WILDCARD,),
    STREAM_DLQ: (DLQ_WILDCARD,),
    STREAM_TIMERS: (TIMERS_WILDCARD,),
}

# --- key-value buckets ----------------------------------------------------------------------
KV_RUN_STATE: Final = "pulse_run_state"
KV_TODOS: Final = "pulse_todos"
KV_COUNTERS: Final = "pulse_counters"
KV_TOOLS: Final = "pulse_tools"
"""The tool catalogue: one `ToolSpec` per tool name, published by the agent-adapter."""
KV_LLM_CACHE: Final = "pulse_llm_cache"
"""Completions shared by agent-adapter replicas, keyed by a hash of the request (with TTL)."""
KV_LLM_BUDGETS: Final = "pulse_llm_budgets"
"""LLM spend and open reservations per tenant and budget period (compare-and-set)."""
KV_LLM_USAGE: Final = "pulse_llm_usage"
"""LLM usage rolled up per tenant, agent and run, written by the agent-adapter."""
KV_RATE_LIMITS: Final = "pulse_rate_limits"
"""The gateway's per-API-key token buckets, shared by its replicas (compare-and-set)."""
KV_PLAN_CACHE: Final = "pulse_plan_cache"
"""LLM plans cached by the planner per tenant, catalogue version and goal (with TTL)."""
OBJ_OUTPUTS: Final = "pulse_outputs"
"""Object store for step outputs too large to travel in a message (see `BlobRef`)."""

# --- LLM calls: request/reply to the agent-adapter (core NATS, not a stream) --------------
LLM_REQUESTS: Final = "pulse.llm.requests"
"""Send an `LlmRequested` as a NATS request; an agent-adapter replies with `LlmResponded`."""
LLM_QUEUE_GROUP: Final = "agent-adapter"
"""Queue group of the adapters answering `LLM_REQUESTS`, so each request is answered once."""


class Durable:
    """Durable consumer names: one per (service, subscription); replicas share them."""

    PLANNER: Final = "planner"
    EXECUTOR_PLANS: Final = "executor-plans"
    EXECUTOR_REJECTIONS: Final = "executor-rejections"
    EXECUTOR_RESULTS: Final = "executor-results"
    EXECUTOR_TIMERS: Final = "executor-timers"
    EXECUTOR_CANCEL: Final = "executor-cancel"
    EXECUTOR_RESTART: Final = "executor-restart"
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


def task_cancel_subject(run_id: str) -> str:
    """Core-NATS subject of a run's `CancelTask` broadcasts: `pulse.tasks.cancel.<run_id>`."""
    return f"{TASKS_CANCEL_PREFIX}.{_token(run_id)}"


def timer_schedule_subject(run_id: str, step_id: str, attempt: int, kind: str) -> str:
    """Where one timer waits: `pulse.timers.schedule.<run>.<step>.<attempt>.<kind>`.

    Unique per timer, because a stream keeps one schedule per subject."""
    return f"{TIMERS_SCHEDULE_PREFIX}.{_token(run_id)}.{_token(step_id)}.{attempt}.{_token(kind)}"


def timer_fired_subject(kind: str) -> str:
    """Where timers of one kind land when due: `pulse.timers.fired.<kind>`."""
    return f"{TIMERS_FIRED_PREFIX}.{_token(kind)}"
