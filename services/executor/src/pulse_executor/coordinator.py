"""Applying a transition to stored run state: load, decide, compare-and-set, then publish.

Any number of executor replicas may handle messages of the same run at once. Each change
is computed from the revision it read and written only if the key is still at that
revision; on a conflict it is recomputed from the fresh state. Effects are published only
after the write succeeded, so nothing is announced that the state does not hold; if
publishing fails the message is redelivered and, being a duplicate by then, re-publishes
what the state implies.

Reading is skipped when this replica wrote the run's state last (`state_cache`), and timers
a change made moot are withdrawn with its effects (`domain.withdrawals`).

Large values: when a transition needs stored outputs (`BlobsNeeded`), they are read from
the object store and the transition is decided again with them; values a transition
moved to the object store (`Transition.uploads`) are written before the state that
refers to them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime

from opentelemetry import context as otel_context

from pulse_broker import (
    BlobCorrupted,
    BlobMissing,
    BlobStore,
    InMemoryBlobStore,
    KvConflict,
    Revisioned,
)
from pulse_contracts import (
    BlobRef,
    CancelRun,
    JsonValue,
    PlanCreated,
    PlanRejected,
    PulseError,
    RestartRun,
    RetryDue,
    RunDeadlineDue,
    StepTimeoutDue,
    TaskFinished,
    TimerDue,
    decode_blob,
    utcnow,
)
from pulse_executor.adapters import EffectPublisher, RunStore, TimerWithdrawal
from pulse_executor.domain import (
    NOTHING_READ,
    BlobsNeeded,
    ExecutorRunState,
    PendingTimer,
    ReadBlobs,
    RunDefaults,
    Transition,
    cancel_run,
    expire_run,
    record_result,
    reject_run,
    restart_run,
    retry_step,
    start_run,
    time_out_step,
)
from pulse_executor.metrics import ExecutorMetrics
from pulse_executor.state_cache import WrittenStates
from pulse_executor.state_changes import log_state_changes, state_changes
from pulse_telemetry import current_trace_id, extract_context

__all__ = ["EffectsNotPublishedError", "RunCoordinator", "StateContentionError"]

log = logging.getLogger(__name__)

Decide = Callable[[ExecutorRunState | None, datetime, ReadBlobs], Transition]
Applied = Callable[[Transition], None]


class StateContentionError(PulseError):
    """Every compare-and-set try lost to another writer; the message is tried again later."""

    retryable = True


class EffectsNotPublishedError(PulseError):
    """The state was stored but not every effect reached JetStream; redelivery resends them."""

    retryable = True


class RunCoordinator:
    def __init__(
        self,
        store: RunStore,
        effects: EffectPublisher,
        *,
        attempts: int = 50,
        backoff_ms: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
        defaults: RunDefaults | None = None,
        blobs: BlobStore | None = None,
        metrics: ExecutorMetrics | None = None,
        timers: TimerWithdrawal | None = None,
        kept_states: int = 1024,
    ) -> None:
        self._store = store
        self._timers = timers
        self._written = WrittenStates(kept_states)
        self._metrics = metrics
        self._blobs: BlobStore = blobs if blobs is not None else InMemoryBlobStore()
        self._effects = effects
        self._attempts = attempts
        self._backoff_s = backoff_ms / 1000
        self._clock = clock
        self._defaults = defaults or RunDefaults()

    async def start(
        self,
        message: PlanCreated,
        *,
        trace_id: str | None = None,
        trace_context: dict[str, str] | None = None,
    ) -> Transition:
        return await self._apply(
            message.run_id,
            lambda state, now, _: start_run(
                state,
                message,
                now=now,
                trace_id=trace_id,
                trace_context=trace_context,
                defaults=self._defaults,
            ),
        )

    async def reject(self, message: PlanRejected) -> Transition:
        return await self._apply(
            message.run_id, lambda state, now, _: reject_run(state, message, now=now)
        )

    async def record(self, message: TaskFinished) -> Transition:
        def waited(transition: Transition) -> None:
            step = transition.state.steps.get(message.step_id) if transition.state else None
            if self._metrics is not None and step is not None and step.dispatched_at:
                self._metrics.waited(step.tool, step.dispatched_at, message.started_at)

        return await self._apply(
            message.run_id,
            lambda state, now, read: record_result(state, message, now=now, read=read),
            waited,
        )

    async def fire(self, timer: TimerDue) -> Transition:
        """A timer came due: a step's timeout, a retry, or the run's deadline."""
        if isinstance(timer, StepTimeoutDue):
            return await self._apply(
                timer.run_id,
                lambda state, now, read: time_out_step(state, timer, now=now, read=read),
            )
        if isinstance(timer, RetryDue):
            return await self._apply(
                timer.run_id, lambda state, now, read: retry_step(state, timer, now=now, read=read)
            )
        assert isinstance(timer, RunDeadlineDue)
        return await self._apply(
            timer.run_id, lambda state, now, _: expire_run(state, timer, now=now)
        )

    async def cancel(self, message: CancelRun) -> Transition:
        return await self._apply(
            message.run_id, lambda state, now, _: cancel_run(state, message, now=now)
        )

    async def restart(self, message: RestartRun) -> Transition:
        return await self._apply(
            message.run_id,
            lambda state, now, read: restart_run(
                state, message, now=now, defaults=self._defaults, read=read
            ),
        )

    async def _apply(
        self, run_id: str, decide: Decide, applied: Applied | None = None
    ) -> Transition:
        """Decide and store one change of the run; `applied` sees it once it is stored.

        The first decision may start from the state this replica wrote last
        (`WrittenStates`): the compare-and-set write proves it current. A decision from it
        that changes nothing proves nothing, so it is made again from the stored state.
        """
        read = NOTHING_READ  # kept across conflicts: a stored value never changes
        kept = self._written.get(run_id)
        attempt = 0
        while attempt < self._attempts:
            current: Revisioned[ExecutorRunState] | None
            if kept is not None:
                current, fresh, kept = kept, False, None
            else:
                attempt += 1
                current, fresh = await self._store.load(run_id), True
            state, now = current.value if current else None, self._clock()
            while True:
                try:
                    transition = decide(state, now, read)
                    break
                except BlobsNeeded as need:
                    read = await self._read(need.refs, read, run_id)
            if not transition.changed and not fresh:
                continue
            if transition.changed:
                assert transition.state is not None
                for upload in transition.uploads:
                    await self._blobs.put(upload.ref, upload.data)
                try:
                    if current is None:
                        revision = await self._store.create(run_id, transition.state)
                    else:
                        revision = await self._store.update(
                            run_id, transition.state, current.revision
                        )
                except KvConflict:
                    if current is not None:
                        self._written.forget(run_id, current.revision)
                    if fresh:  # another replica wrote since we read: give it room
                        log.debug("run state changed concurrently, re-applying (try %d)", attempt)
                        await asyncio.sleep(random.uniform(0, self._backoff_s * attempt))
                    continue
                self._written.wrote(transition.state, revision)
            self._report(transition)
            if applied is not None and transition.changed:
                applied(transition)
            await self._publish(transition)
            return transition
        raise StateContentionError(
            f"run state kept changing under {self._attempts} compare-and-set tries",
            run_id=run_id,
        )

    async def _read(self, refs: tuple[BlobRef, ...], read: ReadBlobs, run_id: str) -> ReadBlobs:
        """`read` plus the values of `refs`; one gone or corrupt is noted as missing (the
        step needing it fails). Any other error propagates: the message is redelivered."""
        unread = [ref for ref in refs if ref.key not in read]
        if not unread:
            raise RuntimeError(f"asked again for stored values it was given (run {run_id})")
        values: dict[str, JsonValue] = {}
        missing: set[str] = set()
        for ref in unread:
            try:
                values[ref.key] = decode_blob(await self._blobs.get(ref))
            except (BlobMissing, BlobCorrupted) as exc:
                log.warning("stored value unavailable: %s", exc)
                missing.add(ref.key)
        return read.plus(values, frozenset(missing))

    async def _publish(self, transition: Transition) -> None:
        if not transition.effects and not transition.withdrawals:
            return
        state = transition.state
        token = None
        if state is not None and state.trace_context and current_trace_id() != state.trace_id:
            # The message came from another trace (or none): effects join the run's trace.
            token = otel_context.attach(extract_context(state.trace_context))
        try:
            publishing = asyncio.gather(
                *(self._effects.publish(effect) for effect in transition.effects),
                return_exceptions=True,
            )
            if transition.withdrawals and self._timers is not None:
                outcomes, _ = await asyncio.gather(
                    publishing, self._withdraw(self._timers, transition.withdrawals)
                )
            else:
                outcomes = await publishing
        finally:
            if token is not None:
                otel_context.detach(token)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            first = failures[0]
            raise EffectsNotPublishedError(
                f"{len(failures)} of {len(outcomes)} effects not published: "
                f"{type(first).__name__}: {first}",
                run_id=state.run_id if state else None,
            ) from first

    @staticmethod
    async def _withdraw(timers: TimerWithdrawal, pending: tuple[PendingTimer, ...]) -> None:
        """Best effort: a timer left in place fires later and is ignored."""
        try:
            await timers.withdraw(pending)
        except Exception as exc:
            log.debug("moot timers not withdrawn (they will fire and be ignored): %s", exc)

    def _report(self, transition: Transition) -> None:
        """Log and count what the transition changed, once: only the replica whose write
        applied it gets here with a changed transition (a redelivery is a duplicate)."""
        changes = state_changes(transition)
        log_state_changes(changes)
        if self._metrics is not None:
            self._metrics.record(changes)
        if log.isEnabledFor(logging.DEBUG):
            state = transition.state
            fields: dict[str, str | int] = {
                "outcome": transition.outcome,
                "effects": len(transition.effects),
            }
            if state is not None:
                fields |= {"run_status": state.status.value, "seq": state.seq}
            log.debug(transition.note, extra=fields)
