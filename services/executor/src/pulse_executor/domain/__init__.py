"""The executor's logic as plain typed code: no broker, no KV, no clock.

- `references` — resolving `{{steps.<id>.output[.path]}}` in a step's input;
- `scheduling` — which steps are ready, and the result of a finished plan;
- `transitions` — the run lifecycle: `start_run`, `reject_run`, `record_result`;
- `effects` — dispatch commands and run events, rebuilt from the state for redeliveries;
- `state` — the run document with the executor's event log.
"""

from pulse_executor.domain.effects import Effect, build_event, dispatch_command, implied_effects
from pulse_executor.domain.references import lookup, render_text, resolve_input, resolve_value
from pulse_executor.domain.scheduling import completed_outputs, ready_steps, run_result
from pulse_executor.domain.state import EmittedEvent, EventKind, ExecutorRunState
from pulse_executor.domain.transitions import (
    Outcome,
    Transition,
    record_result,
    reject_run,
    start_run,
)

__all__ = [
    "Effect",
    "EmittedEvent",
    "EventKind",
    "ExecutorRunState",
    "Outcome",
    "Transition",
    "build_event",
    "completed_outputs",
    "dispatch_command",
    "implied_effects",
    "lookup",
    "ready_steps",
    "record_result",
    "reject_run",
    "render_text",
    "resolve_input",
    "resolve_value",
    "run_result",
    "start_run",
]
