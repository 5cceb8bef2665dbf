"""The executor's logic as plain typed code: no broker, no KV, no clock.

- `references` — resolving `{{steps.<id>.output[.path]}}` in a step's input;
- `inputs` — the input as dispatched: large values by reference to the object store;
- `scheduling` — which steps are ready, and the result of a finished plan;
- `retry` — back-off delays with deterministic jitter;
- `transitions` — plans and results: `start_run`, `reject_run`, `record_result`;
- `timing` — the executor's timers: `time_out_step`, `retry_step`, `expire_run`;
- `control` — commands from outside: `cancel_run`, `restart_run`;
- `progress` — what they share: dispatch, fail an attempt, end a run;
- `effects` — commands, timers and events, rebuilt from the state for redeliveries;
- `state` — the run document with the executor's event log and bookkeeping;
- `withdrawals` — timers a transition made moot, to withdraw before they fire.
"""

from pulse_executor.domain.control import RESTARTABLE, cancel_run, restart_run
from pulse_executor.domain.draft import Outcome, Transition
from pulse_executor.domain.effects import (
    Effect,
    build_event,
    commands_for,
    dispatch_command,
    implied_effects,
    timed_out_error,
)
from pulse_executor.domain.inputs import (
    BlobUpload,
    PreparedInput,
    needed_blobs,
    passed_by_reference,
    prepare_input,
)
from pulse_executor.domain.references import (
    NOTHING_READ,
    BlobsNeeded,
    ReadBlobs,
    StepOutputs,
    lookup,
    render_text,
    resolve_input,
    resolve_value,
)
from pulse_executor.domain.retry import jitter_fraction, retry_delay_s
from pulse_executor.domain.scheduling import (
    completed_outputs,
    ready_steps,
    result_refs,
    run_result,
    step_outputs,
)
from pulse_executor.domain.state import EmittedEvent, EventKind, ExecutorRunState, attempt_key
from pulse_executor.domain.timing import expire_run, retry_step, time_out_step
from pulse_executor.domain.transitions import RunDefaults, record_result, reject_run, start_run
from pulse_executor.domain.withdrawals import PendingTimer, moot_timers

__all__ = [
    "NOTHING_READ",
    "RESTARTABLE",
    "BlobUpload",
    "BlobsNeeded",
    "Effect",
    "EmittedEvent",
    "EventKind",
    "ExecutorRunState",
    "Outcome",
    "PendingTimer",
    "PreparedInput",
    "ReadBlobs",
    "RunDefaults",
    "StepOutputs",
    "Transition",
    "attempt_key",
    "build_event",
    "cancel_run",
    "commands_for",
    "completed_outputs",
    "dispatch_command",
    "expire_run",
    "implied_effects",
    "jitter_fraction",
    "lookup",
    "moot_timers",
    "needed_blobs",
    "passed_by_reference",
    "prepare_input",
    "ready_steps",
    "record_result",
    "reject_run",
    "render_text",
    "resolve_input",
    "resolve_value",
    "restart_run",
    "result_refs",
    "retry_delay_s",
    "retry_step",
    "run_result",
    "start_run",
    "step_outputs",
    "time_out_step",
    "timed_out_error",
]
