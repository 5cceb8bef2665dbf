"""What one run event says about its run and steps, as rows to merge into the archive."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from pulse_archiver.domain.merge import merge
from pulse_archiver.domain.rows import ArchivedRun, RunRow, StepRow
from pulse_archiver.domain.stored import StoredValues, with_input, with_output, with_result
from pulse_contracts import (
    JsonValue,
    RunCanceled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunRejected,
    RunRestarted,
    RunStarted,
    RunStatus,
    StepCanceled,
    StepCompleted,
    StepDispatched,
    StepFailedEvent,
    StepStatus,
)

__all__ = ["History", "Projection", "fold", "order_steps", "project", "step_id_of"]


@dataclass(frozen=True)
class Projection:
    """The run row and step rows one event implies; merged into what is archived already."""

    run: RunRow
    steps: tuple[StepRow, ...] = ()


_StepEvent = StepDispatched | StepCompleted | StepFailedEvent | StepCanceled


def step_id_of(event: RunEvent) -> str | None:
    return event.step_id if isinstance(event, _StepEvent) else None


def _duration_ms(started_at: datetime, finished_at: datetime) -> float:
    return (finished_at - started_at).total_seconds() * 1000


_NONE_STORED: StoredValues = {}


def _step(event: _StepEvent, stored: StoredValues) -> StepRow:
    started = StepRow(
        run_id=event.run_id,
        step_id=event.step_id,
        tool=event.tool,
        attempt=event.attempt,
        last_seq=event.seq,
    )
    match event:
        case StepDispatched():
            return replace(started, status=StepStatus.DISPATCHED, input=with_input(event, stored))
        case StepCompleted():
            return replace(
                started,
                status=StepStatus.COMPLETED,
                output=with_output(event, stored),
                prompt_tokens=event.usage.prompt_tokens,
                completion_tokens=event.usage.completion_tokens,
                cost_usd=event.usage.cost_usd,
                started_at=event.started_at,
                finished_at=event.finished_at,
                duration_ms=_duration_ms(event.started_at, event.finished_at),
            )
        case StepFailedEvent():
            return replace(
                started,
                # A failure with a retry to come leaves the step `retrying`, as in RunState.
                status=StepStatus.FAILED if event.retry_at is None else StepStatus.RETRYING,
                error=event.error.model_dump(mode="json"),
                started_at=event.started_at,
                finished_at=event.finished_at,
                duration_ms=_duration_ms(event.started_at, event.finished_at),
            )
        case StepCanceled():
            return replace(
                started,
                status=StepStatus.CANCELED,
                error=event.error.model_dump(mode="json"),
                finished_at=event.finished_at,
            )


def project(event: RunEvent, stored: StoredValues = _NONE_STORED) -> Projection:
    """The rows `event` implies on its own.

    Every event describes the run (so its row exists and `last_seq`/`updated_at` move);
    only run-level events set `state_seq` and with it status, result, error and usage.
    `run.started` also lays out every planned step as `pending`, with the plan's input.
    `stored` has the values of the event's references to the object store, by key.
    """
    run = RunRow(
        run_id=event.run_id,
        tenant=event.tenant,
        trace_id=event.trace_id,
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
        last_seq=event.seq,
    )
    at_run_level = replace(run, state_seq=event.seq)
    match event:
        case RunStarted():
            started = replace(
                at_run_level,
                status=RunStatus.WORKING,
                prompt=event.prompt,
                planner=event.planner,
                plan=event.plan.model_dump(mode="json"),
            )
            pending = tuple(
                StepRow(
                    run_id=event.run_id,
                    step_id=step.id,
                    tool=step.tool,
                    input=dict(step.input),
                    last_seq=event.seq,
                )
                for step in event.plan.steps
            )
            return Projection(started, pending)
        case RunRejected():
            return Projection(
                replace(
                    at_run_level,
                    status=RunStatus.REJECTED,
                    prompt=event.prompt,
                    error=event.error.model_dump(mode="json"),
                )
            )
        case RunCompleted():
            return Projection(
                replace(
                    at_run_level,
                    status=RunStatus.COMPLETED,
                    result=with_result(event, stored),
                    # Set when steps with `on_failure: continue` failed along the way.
                    error=event.error.model_dump(mode="json") if event.error else None,
                    prompt_tokens=event.usage.prompt_tokens,
                    completion_tokens=event.usage.completion_tokens,
                    cost_usd=event.usage.cost_usd,
                )
            )
        case RunFailed():
            return Projection(
                replace(
                    at_run_level,
                    status=RunStatus.FAILED,
                    error=event.error.model_dump(mode="json"),
                    prompt_tokens=event.usage.prompt_tokens,
                    completion_tokens=event.usage.completion_tokens,
                    cost_usd=event.usage.cost_usd,
                )
            )
        case RunCanceled():
            return Projection(
                replace(
                    at_run_level,
                    status=RunStatus.CANCELED,
                    error=event.error.model_dump(mode="json"),
                    prompt_tokens=event.usage.prompt_tokens,
                    completion_tokens=event.usage.completion_tokens,
                    cost_usd=event.usage.cost_usd,
                )
            )
        case RunRestarted():
            # Working again: no result or error until the run ends anew; usage carries on.
            return Projection(
                replace(
                    at_run_level,
                    status=RunStatus.WORKING,
                    prompt_tokens=event.usage.prompt_tokens,
                    completion_tokens=event.usage.completion_tokens,
                    cost_usd=event.usage.cost_usd,
                )
            )
        case StepDispatched() | StepCompleted() | StepFailedEvent() | StepCanceled():
            return Projection(run, (_step(event, stored),))


def order_steps(plan: JsonValue, steps: Iterable[StepRow]) -> tuple[StepRow, ...]:
    """Steps in plan order; steps the plan does not name (or no plan yet) follow by id."""
    position: dict[str, int] = {}
    planned = plan.get("steps") if isinstance(plan, dict) else None
    if isinstance(planned, list):
        for index, step in enumerate(planned):
            step_id = step.get("id") if isinstance(step, dict) else None
            if isinstance(step_id, str):
                position[step_id] = index
    return tuple(sorted(steps, key=lambda s: (position.get(s.step_id, len(position)), s.step_id)))


class History:
    """Runs and steps folded from events in memory, with the same rules as the archive.

    The reference the PostgreSQL archive is checked against (any order of the same
    events must give the same rows) and the state of the in-memory archive.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._runs: dict[str, RunRow] = {}
        self._steps: dict[str, dict[str, StepRow]] = {}

    def record(self, event: RunEvent, stored: StoredValues = _NONE_STORED) -> bool:
        """Apply `event` unless an event with its id was applied before; True if it was new."""
        if event.message_id in self._seen:
            return False
        self._seen.add(event.message_id)
        projection = project(event, stored)
        stored_run = self._runs.get(event.run_id)
        self._runs[event.run_id] = (
            projection.run if stored_run is None else merge(stored_run, projection.run)
        )
        steps = self._steps.setdefault(event.run_id, {})
        for step in projection.steps:
            stored_step = steps.get(step.step_id)
            steps[step.step_id] = step if stored_step is None else merge(stored_step, step)
        return True

    def get(self, run_id: str) -> ArchivedRun | None:
        run = self._runs.get(run_id)
        if run is None:
            return None
        return ArchivedRun(run, order_steps(run.plan, self._steps.get(run_id, {}).values()))

    def runs(self) -> list[RunRow]:
        return list(self._runs.values())

    @property
    def event_count(self) -> int:
        return len(self._seen)


def fold(events: Iterable[RunEvent]) -> dict[str, ArchivedRun]:
    """Every run the events describe, folded in the order given (repeated ids skipped)."""
    history = History()
    for event in events:
        history.record(event)
    return {run.run_id: archived for run in history.runs() if (archived := history.get(run.run_id))}
