"""Reading the bus as it flows: one run's events (for SSE and WebSocket), and the runs
requested lately (for the part of a listing the archive does not have yet).

Both are JetStream *ordered* consumers: ephemeral, in memory on the server, flow-controlled,
recreated from the last sequence seen if a message goes missing, and gone a few seconds
after the gateway stops listening. Neither takes work from any service's durable consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Final

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from pulse_contracts import RUN_EVENT_ADAPTER, RunRequested, RunState, subjects
from pulse_gateway.adapters.ports import BusUnavailableError, FeedItem, RecentRun

__all__ = ["JetStreamEventFeed", "JetStreamRecentRuns", "JetStreamRunEvents"]

log = logging.getLogger(__name__)

# The server drops an ordered consumer this long after its subscriber went away.
_INACTIVE_S: Final = 10.0
_HEARTBEAT_S: Final = 5.0


class JetStreamEventFeed:
    def __init__(self, sub: JetStreamContext.PushSubscription, initial_backlog: int) -> None:
        self._sub = sub
        self.initial_backlog = initial_backlog
        self.undecodable = 0

    async def next(self, timeout_s: float) -> FeedItem | None:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg: Msg = await self._sub.next_msg(timeout=remaining)
            except (NatsTimeoutError, TimeoutError):
                return None
            try:
                event = RUN_EVENT_ADAPTER.validate_json(msg.data)
            except ValidationError:
                # An event type newer than these contracts: skip it, keep streaming.
                self.undecodable += 1
                continue
            return FeedItem(event, msg.metadata.num_pending)


class JetStreamRunEvents:
    """`RunEventSource` over PULSE_EVENTS: everything the stream holds for the run, then live."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc

    @asynccontextmanager
    async def follow(self, run_id: str) -> AsyncIterator[JetStreamEventFeed]:
        if not self._nc.is_connected:
            raise BusUnavailableError("NATS is not connected (run events)", run_id=run_id)
        js = self._nc.jetstream()
        try:
            sub = await js.subscribe(
                subjects.run_events_subject(run_id),
                stream=subjects.STREAM_EVENTS,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
                idle_heartbeat=_HEARTBEAT_S,
                inactive_threshold=_INACTIVE_S,
            )
            backlog = (await sub.consumer_info()).num_pending or 0
        except (NatsTimeoutError, TimeoutError, ConnectionError) as exc:
            raise BusUnavailableError(
                f"cannot follow the run's events: {exc!r}", run_id=run_id
            ) from exc
        try:
            yield JetStreamEventFeed(sub, backlog)
        finally:
            try:
                await sub.unsubscribe()
            except Exception:  # the connection may be gone; the server cleans up anyway
                log.debug("unsubscribing an event feed failed", exc_info=True)


class JetStreamRecentRuns:
    """`RecentRuns`: every `RunRequested` of the last `window_s`, in arrival order, kept in
    memory (run id, tenant, time, prompt: a few hundred bytes a run)."""

    def __init__(self, nc: Client, *, window_s: float) -> None:
        self._nc = nc
        self._window = timedelta(seconds=window_s)
        self._runs: deque[RecentRun] = deque()
        self._seen: set[str] = set()
        self._sub: JetStreamContext.PushSubscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Follow run requests from now on, in the background: a gateway that may not (NATS
        permissions) or cannot yet still serves everything else, and lists archived runs."""
        self._task = asyncio.create_task(self._follow_until_it_works())

    async def _follow_until_it_works(self) -> None:
        delay = 1.0
        while self._sub is None:
            try:
                await self._subscribe()
            except Exception as exc:
                log.warning(
                    "cannot follow %s (listings show archived runs only until it works): %r; "
                    "retrying in %.0f s",
                    subjects.RUNS_REQUESTED,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _subscribe(self) -> None:
        since = datetime.now(UTC) - self._window
        config = ConsumerConfig(opt_start_time=since)
        self._sub = await self._nc.jetstream().subscribe(
            subjects.RUNS_REQUESTED,
            stream=subjects.STREAM_RUNS,
            cb=self._on_request,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            config=config,
            idle_heartbeat=_HEARTBEAT_S,
            inactive_threshold=_INACTIVE_S,
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sub is not None:
            sub, self._sub = self._sub, None
            try:
                await sub.unsubscribe()
            except Exception:
                log.debug("unsubscribing the recent-runs feed failed", exc_info=True)

    async def _on_request(self, msg: Msg) -> None:
        if self._seen_already(msg):
            return  # most often this gateway's own submission, noted when it was made
        try:
            request = RunRequested.model_validate_json(msg.data)
        except ValidationError:
            return  # the planner dead-letters it; it never becomes a run
        self._add(RecentRun(request.run_id, request.tenant, request.occurred_at, request.prompt))

    def _seen_already(self, msg: Msg) -> bool:
        """Whether the message id (`run:<id>:requested`, as the gateway sends it) names a
        run already listed, which spares validating the whole request."""
        message_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        prefix, _, rest = message_id.partition(":")
        run_id, _, kind = rest.rpartition(":")
        return prefix == "run" and kind == "requested" and run_id in self._seen

    def _add(self, run: RecentRun) -> None:
        if run.run_id in self._seen:
            return
        self._seen.add(run.run_id)
        # Arrival order is nearly time order (replicas' clocks differ a little): walk back
        # the few places needed to keep it exact for the cut-off below.
        position = len(self._runs)
        while position > 0 and self._runs[position - 1].created_at > run.created_at:
            position -= 1
        self._runs.insert(position, run)
        self._prune()

    def _prune(self) -> None:
        cutoff = datetime.now(UTC) - self._window
        while self._runs and self._runs[0].created_at < cutoff:
            self._seen.discard(self._runs.popleft().run_id)

    def recent(self, tenant: str) -> list[RecentRun]:
        self._prune()
        return [r for r in reversed(self._runs) if r.tenant == tenant]

    def note(self, state: RunState) -> None:
        self._add(RecentRun(state.run_id, state.tenant, state.created_at, state.prompt))

    @property
    def size(self) -> int:
        return len(self._runs)
