"""Every message model with the subjects it travels on: the source of the JSON Schemas."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from pulse_contracts import subjects
from pulse_contracts.blobs import BlobRef
from pulse_contracts.control import CancelRun, CancelTask, RestartRun
from pulse_contracts.dlq import DeadLettered
from pulse_contracts.events import (
    RunCanceled,
    RunCompleted,
    RunFailed,
    RunRejected,
    RunRestarted,
    RunStarted,
    StepCanceled,
    StepCompleted,
    StepDispatched,
    StepFailed,
)
from pulse_contracts.llm import LlmRequested, LlmResponded
from pulse_contracts.runs import PlanCreated, PlanRejected, RunRequested
from pulse_contracts.state import RunState
from pulse_contracts.tasks import DispatchTask, TaskFinished
from pulse_contracts.timers import RetryDue, RunDeadlineDue, StepTimeoutDue
from pulse_contracts.tools import ToolSpec

__all__ = ["DOCUMENTS", "MESSAGES"]

_EVENTS = f"{subjects.RUN_EVENTS_PREFIX}.<run_id>"
_TIMER = (
    f"{subjects.TIMERS_SCHEDULE_PREFIX}.<run_id>.<step_id>.<attempt>.{{kind}}"
    f" -> {subjects.TIMERS_FIRED_PREFIX}.{{kind}}"
)

MESSAGES: Final[dict[type[BaseModel], str]] = {
    RunRequested: subjects.RUNS_REQUESTED,
    PlanCreated: subjects.PLANS_CREATED,
    PlanRejected: subjects.PLANS_REJECTED,
    DispatchTask: f"{subjects.TASKS_DISPATCH_PREFIX}.<agent>",
    TaskFinished: subjects.TASKS_RESULT,
    RunStarted: _EVENTS,
    RunRejected: _EVENTS,
    StepDispatched: _EVENTS,
    StepCompleted: _EVENTS,
    StepFailed: _EVENTS,
    RunCompleted: _EVENTS,
    RunFailed: _EVENTS,
    StepCanceled: _EVENTS,
    RunCanceled: _EVENTS,
    RunRestarted: _EVENTS,
    CancelRun: subjects.RUNS_CANCEL,
    RestartRun: subjects.RUNS_RESTART,
    CancelTask: f"{subjects.TASKS_CANCEL_PREFIX}.<run_id> (core NATS)",
    StepTimeoutDue: _TIMER.format(kind=StepTimeoutDue.kind),
    RetryDue: _TIMER.format(kind=RetryDue.kind),
    RunDeadlineDue: _TIMER.format(kind=RunDeadlineDue.kind),
    LlmRequested: f"{subjects.LLM_REQUESTS} (NATS request; queue group {subjects.LLM_QUEUE_GROUP})",
    LlmResponded: "(reply)",
    DeadLettered: f"{subjects.DLQ_PREFIX}.<consumer>",
}
"""Message model -> the subject (pattern) it is published on."""

DOCUMENTS: Final[dict[type[BaseModel], str]] = {
    RunState: f"KV bucket {subjects.KV_RUN_STATE}, key <run_id>",
    ToolSpec: f"KV bucket {subjects.KV_TOOLS}, key <tool name>",
    BlobRef: f"object store {subjects.OBJ_OUTPUTS}, referenced from messages",
}
"""Documents that are shared but not sent as messages."""
