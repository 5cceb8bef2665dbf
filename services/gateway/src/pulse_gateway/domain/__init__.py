"""The gateway's pure logic: run ids, the initial run state, how a run is presented, and
which runs may be canceled or restarted."""

from pulse_gateway.domain.control import (
    RESTARTABLE_STATUSES,
    cancel_command,
    may_cancel,
    may_restart,
    restart_command,
)
from pulse_gateway.domain.runs import (
    RUN_ID_NAMESPACE,
    is_run_id,
    may_request_again,
    new_run_id,
    new_run_state,
    ordered_steps,
    requested_message,
    requested_message_id,
)

__all__ = [
    "RESTARTABLE_STATUSES",
    "RUN_ID_NAMESPACE",
    "cancel_command",
    "is_run_id",
    "may_cancel",
    "may_request_again",
    "may_restart",
    "new_run_id",
    "new_run_state",
    "ordered_steps",
    "requested_message",
    "requested_message_id",
    "restart_command",
]
