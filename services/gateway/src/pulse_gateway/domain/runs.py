"""What a submitted run looks like before it reaches the bus, and how it is read back.

Pure functions: run ids, the initial run state, the `RunRequested` message, and the
ordering of steps for display.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

from pulse_contracts import JsonValue, RunRequested, RunState, RunStatus, StepState

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

# Fixed forever: changing it would give existing idempotency keys new run ids.
RUN_ID_NAMESPACE: Final = uuid.UUID("6f1c2b9e-4d4a-5e1b-9a57-0c1f3d2e7b10")


def new_run_id(tenant: str, idempotency_key: str | None) -> str:
    """A fresh random id, or with an idempotency key the same id for the same (tenant, key).

    The tenant is part of the name, so two tenants using the same key get different runs.
    """
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(RUN_ID_NAMESPACE, f"{tenant}\x1f{idempotency_key}").hex


def is_run_id(value: str) -> bool:
    """Whether `value` could be a run id at all (keeps junk out of KV lookups)."""
    return 0 < len(value) <= 64 and all(
        ch.isascii() and (ch.isalnum() or ch in "-_") for ch in value
    )


def new_run_state(
    *,
    run_id: str,
    tenant: str,
    prompt: str,
    metadata: dict[str, JsonValue],
    trace_id: str | None,
    trace_context: dict[str, str],
    now: datetime,
) -> RunState:
    return RunState(
        run_id=run_id,
        tenant=tenant,
        prompt=prompt,
        status=RunStatus.SUBMITTED,
        metadata=metadata,
        trace_id=trace_id,
        trace_context=trace_context,
        created_at=now,
        updated_at=now,
    )


def requested_message_id(run_id: str) -> str:
    return f"run:{run_id}:requested"


def requested_message(state: RunState, idempotency_key: str | None) -> RunRequested:
    """The `RunRequested` that starts `state`; its id is stable so resends are deduplicated."""
    return RunRequested(
        message_id=requested_message_id(state.run_id),
        run_id=state.run_id,
        tenant=state.tenant,
        trace_id=state.trace_id,
        prompt=state.prompt,
        metadata=state.metadata,
        idempotency_key=idempotency_key,
    )


def may_request_again(state: RunState, *, now: datetime, duplicate_window_s: float) -> bool:
    """Whether a repeated submission may publish the run's `RunRequested` once more.

    The gateway writes the state before it publishes, so a crash or outage in between leaves
    a `submitted` run nobody was told about. Publishing again is safe only while JetStream
    still remembers the first message id and would drop it as a duplicate; after that a
    second copy could be planned twice, so an old `submitted` run is left alone.
    """
    if state.status is not RunStatus.SUBMITTED or state.seq > 0:
        return False
    return now - state.created_at < timedelta(seconds=duplicate_window_s)


def ordered_steps(state: RunState) -> list[StepState]:
    """The run's steps in plan order; planned steps without state yet show as pending."""
    ordered: list[StepState] = []
    seen: set[str] = set()
    if state.plan is not None:
        for planned in state.plan.steps:
            step = state.steps.get(planned.id)
            if step is None:
                step = StepState(step_id=planned.id, tool=planned.tool, input=planned.input)
            ordered.append(step)
            seen.add(planned.id)
    ordered.extend(step for step_id, step in state.steps.items() if step_id not in seen)
    return ordered
