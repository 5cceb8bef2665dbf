"""pulse-contracts: the typed messages, subjects and errors every Pulse service shares."""

from pulse_contracts import subjects
from pulse_contracts.base import SCHEMA_VERSION, JsonValue, Message, Usage, utcnow
from pulse_contracts.blobs import BlobRef
from pulse_contracts.control import CancelRun, CancelTask, RestartRun, control_message_id
from pulse_contracts.dlq import DeadLettered
from pulse_contracts.errors import (
    Canceled,
    DeadlineExceeded,
    ErrorCode,
    ErrorInfo,
    InvalidMessage,
    PlanningFailed,
    PulseError,
    StepFailed,
    StepTimedOut,
    ToolFailed,
    ToolNotFound,
    UnresolvedReference,
)
from pulse_contracts.events import (
    RUN_EVENT_ADAPTER,
    RunCanceled,
    RunCompleted,
    RunEvent,
    RunEventBase,
    RunFailed,
    RunRejected,
    RunRestarted,
    RunStarted,
    StepCanceled,
    StepCompleted,
    StepDispatched,
    event_message_id,
)
from pulse_contracts.events import StepFailed as StepFailedEvent
from pulse_contracts.llm import ChatMessage, LlmRequested, LlmResponded
from pulse_contracts.plan import (
    REFERENCE_PATTERN,
    OnFailure,
    Plan,
    PlanStep,
    RetryPolicy,
    iter_references,
    topological_order,
)
from pulse_contracts.runs import PlanCreated, PlanRejected, RunRequested, RunScoped
from pulse_contracts.state import RunState, StepState
from pulse_contracts.status import TERMINAL_RUN_STATUSES, RunStatus, StepStatus
from pulse_contracts.tasks import DispatchTask, TaskFinished, task_message_id
from pulse_contracts.timers import (
    TIMER_ADAPTER,
    RetryDue,
    RunDeadlineDue,
    StepTimeoutDue,
    TimerBase,
    TimerDue,
    timer_message_id,
)
from pulse_contracts.tools import ToolSpec

__version__ = "0.1.0"

__all__ = [
    "REFERENCE_PATTERN",
    "RUN_EVENT_ADAPTER",
    "SCHEMA_VERSION",
    "TERMINAL_RUN_STATUSES",
    "TIMER_ADAPTER",
    "BlobRef",
    "CancelRun",
    "CancelTask",
    "Canceled",
    "ChatMessage",
    "DeadLettered",
    "DeadlineExceeded",
    "DispatchTask",
    "ErrorCode",
    "ErrorInfo",
    "InvalidMessage",
    "JsonValue",
    "LlmRequested",
    "LlmResponded",
    "Message",
    "OnFailure",
    "Plan",
    "PlanCreated",
    "PlanRejected",
    "PlanStep",
    "PlanningFailed",
    "PulseError",
    "RestartRun",
    "RetryDue",
    "RetryPolicy",
    "RunCanceled",
    "RunCompleted",
    "RunDeadlineDue",
    "RunEvent",
    "RunEventBase",
    "RunFailed",
    "RunRejected",
    "RunRequested",
    "RunRestarted",
    "RunScoped",
    "RunStarted",
    "RunState",
    "RunStatus",
    "StepCanceled",
    "StepCompleted",
    "StepDispatched",
    "StepFailed",
    "StepFailedEvent",
    "StepState",
    "StepStatus",
    "StepTimedOut",
    "StepTimeoutDue",
    "TaskFinished",
    "TimerBase",
    "TimerDue",
    "ToolFailed",
    "ToolNotFound",
    "ToolSpec",
    "UnresolvedReference",
    "Usage",
    "control_message_id",
    "event_message_id",
    "iter_references",
    "subjects",
    "task_message_id",
    "timer_message_id",
    "topological_order",
    "utcnow",
]
