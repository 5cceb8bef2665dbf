"""The gateway's pure logic: run ids, the initial run state and how a run is presented."""

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
    "RUN_ID_NAMESPACE",
    "is_run_id",
    "may_request_again",
    "new_run_id",
    "new_run_state",
    "ordered_steps",
    "requested_message",
    "requested_message_id",
]
