"""Which runs may be canceled or restarted, and the commands that ask the executor to.

The gateway decides on the state it read; the executor decides again on the state it
holds (the run may have moved on in between), so a 202 means "asked", not "done".
"""

from __future__ import annotations

from typing import Final

from pulse_contracts import CancelRun, RestartRun, RunState, RunStatus, control_message_id

__all__ = [
    "RESTARTABLE_STATUSES",
    "cancel_command",
    "may_cancel",
    "may_restart",
    "restart_command",
]

RESTARTABLE_STATUSES: Final = frozenset({RunStatus.FAILED, RunStatus.CANCELED})


def may_cancel(state: RunState) -> bool:
    return not state.status.is_terminal


def may_restart(state: RunState) -> bool:
    return state.status in RESTARTABLE_STATUSES and state.plan is not None


def cancel_command(state: RunState) -> CancelRun:
    """One command per state seen: a repeated click on the same state is the same message."""
    return CancelRun(
        message_id=control_message_id(state.run_id, "cancel", state.seq),
        run_id=state.run_id,
        tenant=state.tenant,
        trace_id=state.trace_id,
    )


def restart_command(state: RunState) -> RestartRun:
    """Restart only the state seen (`if_seq`): a late duplicate cannot restart a later life."""
    return RestartRun(
        message_id=control_message_id(state.run_id, "restart", state.seq),
        run_id=state.run_id,
        tenant=state.tenant,
        trace_id=state.trace_id,
        if_seq=state.seq,
    )
