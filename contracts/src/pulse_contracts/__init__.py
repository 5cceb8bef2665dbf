"""pulse-contracts: the typed messages, subjects and errors every Pulse service shares."""

from pulse_contracts import subjects
from pulse_contracts.base import SCHEMA_VERSION, JsonValue, Message, Usage, utcnow
from pulse_contracts.dlq import DeadLettered
from pulse_contracts.errors import (
    ErrorCode,
    ErrorInfo,
    InvalidMessage,
    PlanningFailed,
    PulseError,
    StepFailed,
    ToolFailed,
    ToolNotFound,
    UnresolvedReference,
)
from pulse_contracts.events import (
    RUN_EVENT_ADAPTER,
    RunCompleted,
    RunEvent,
    RunEventBase,
    RunFailed,
    RunRejected,
    RunStarted,
    StepCompleted,
    StepDispatched,
    event_message_id,
)
from pulse_contracts.events import StepFailed as StepFailedEvent
from pulse_contracts.llm import ChatMessage, LlmRequested, LlmResponded
from pulse_contracts.plan import (
    REFERENCE_PATTERN,
    Plan,
    PlanStep,
    iter_references,
    topological_order,
)
from pulse_contracts.runs import PlanCreated, PlanRejected, RunRequested, RunScoped
from pulse_contracts.state import RunState, StepState
from pulse_contracts.status import TERMINAL_RUN_STATUSES, RunStatus, StepStatus
from pulse_contracts.tasks import DispatchTask, TaskFinished, task_message_id

__version__ = "0.1.0"

__all__ = [
    "REFERENCE_PATTERN",
    "RUN_EVENT_ADAPTER",
    "SCHEMA_VERSION",
    "TERMINAL_RUN_STATUSES",
    "ChatMessage",
    "DeadLettered",
    "DispatchTask",
    "ErrorCode",
    "ErrorInfo",
    "InvalidMessage",
    "JsonValue",
    "LlmRequested",
    "LlmResponded",
    "Message",
    "Plan",
    "PlanCreated",
    "PlanRejected",
    "PlanStep",
    "PlanningFailed",
    "PulseError",
    "RunCompleted",
    "RunEvent",
    "RunEventBase",
    "RunFailed",
    "RunRejected",
    "RunRequested",
    "RunScoped",
    "RunStarted",
    "RunState",
    "RunStatus",
    "StepCompleted",
    "StepDispatched",
    "StepFailed",
    "StepFailedEvent",
    "StepState",
    "StepStatus",
    "TaskFinished",
    "ToolFailed",
    "ToolNotFound",
    "UnresolvedReference",
    "Usage",
    "event_message_id",
    "iter_references",
    "subjects",
    "task_message_id",
    "topological_order",
    "utcnow",
]
