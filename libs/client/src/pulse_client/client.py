"""A small async client for the gateway's HTTP API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Final, Self, cast

import httpx
from pydantic import ValidationError

from pulse_client.sse import parse_sse
from pulse_client.timeline import Timeline
from pulse_contracts import RUN_EVENT_ADAPTER, JsonValue, RunEvent, RunStatus

__all__ = ["PulseApiError", "PulseClient", "RunView"]

RunView = dict[str, JsonValue]
"""A run as `GET /v1/runs/{id}` returns it (status, plan, steps, result, usage, trace_id...)."""

_TERMINAL_EVENTS: Final = frozenset({"run.completed", "run.failed", "run.canceled", "run.rejected"})
# Longer than the gateway's heartbeat (15 s by default): a silent stream is a dead one.
_STREAM_READ_TIMEOUT_S: Final = 60.0


class PulseApiError(Exception):
    """The gateway answered with an RFC 9457 problem."""

    def __init__(self, status: int, problem: dict[str, JsonValue]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")


def _problem(response: httpx.Response) -> PulseApiError:
    try:
        problem = cast(dict[str, JsonValue], response.json())
    except ValueError:
        problem = {"title": response.reason_phrase, "detail": response.text[:500]}
    return PulseApiError(response.status_code, problem)


class PulseClient:
    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 10.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _json(self, response: httpx.Response) -> RunView:
        if response.is_error:
            raise _problem(response)
        return cast(RunView, response.json())

    # --- runs ------------------------------------------------------------------------
    async def create_run(
        self,
        prompt: str,
        *,
        metadata: dict[str, JsonValue] | None = None,
        idempotency_key: str | None = None,
    ) -> RunView:
        body: dict[str, JsonValue] = {"prompt": prompt, "metadata": metadata or {}}
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        return await self._json(await self._http.post("/v1/runs", json=body))

    async def get_run(self, run_id: str) -> RunView:
        return await self._json(await self._http.get(f"/v1/runs/{run_id}"))

    async def list_runs(
        self,
        *,
        status: Iterable[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> RunView:
        """One page: `{"runs": [...], "next_cursor": str | None}`, newest first."""
        params: list[tuple[str, str | int | float | bool | None]] = [("status", s) for s in status]
        params += [("limit", str(limit))]
        for name, value in (("since", since), ("until", until)):
            if value is not None:
                params.append((name, value.isoformat()))
        if text:
            params.append(("q", text))
        if cursor:
            params.append(("cursor", cursor))
        return await self._json(await self._http.get("/v1/runs", params=params))

    async def iter_runs(
        self,
        *,
        status: Iterable[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[RunView]:
        """Every matching run, newest first, following the cursor page after page."""
        cursor: str | None = None
        statuses = list(status)
        while True:
            page = await self.list_runs(
                status=statuses, since=since, until=until, text=text, limit=page_size, cursor=cursor
            )
            for run in cast(list[RunView], page["runs"]):
                yield run
            cursor = cast(str | None, page.get("next_cursor"))
            if not cursor:
                return

    async def timeline_json(self, run_id: str) -> RunView:
        """`GET /v1/runs/{id}/timeline`: every attempt of every step in time, as JSON."""
        return await self._json(await self._http.get(f"/v1/runs/{run_id}/timeline"))

    async def timeline(self, run_id: str) -> Timeline:
        return Timeline.model_validate(await self.timeline_json(run_id))

    async def settled_timeline(
        self, run_id: str, *, timeout_s: float = 30.0, poll_s: float = 0.25
    ) -> RunView:
        """The timeline once the run has ended and the archive holds all of it (see
        `Timeline.settled`), or as it is when `timeout_s` runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            body = await self.timeline_json(run_id)
            if Timeline.model_validate(body).settled or time.monotonic() >= deadline:
                return body
            await asyncio.sleep(poll_s)

    async def cancel_run(self, run_id: str) -> RunView:
        return await self._json(await self._http.post(f"/v1/runs/{run_id}/cancel"))

    async def restart_run(self, run_id: str) -> RunView:
        return await self._json(await self._http.post(f"/v1/runs/{run_id}/restart"))

    async def events(
        self, run_id: str, *, after_seq: int = 0, reconnect: bool = True
    ) -> AsyncIterator[RunEvent]:
        """The run's events over SSE: what happened so far, then live, until it ends.

        A dropped connection is resumed from the last seq seen (`Last-Event-ID`) when
        `reconnect` is on. Events of types newer than this client are skipped.
        """
        last = after_seq
        while True:
            finished = True
            try:
                async for event in self._event_stream(run_id, last):
                    finished = False
                    last = max(last, event.seq)
                    yield event
                    if event.type in _TERMINAL_EVENTS:
                        finished = True
            except httpx.TransportError:
                if not reconnect:
                    raise
                finished = False
            # A stream that closed after the end (or a 204: the end was seen already) is
            # over; one cut short (network, the gateway's stream limit) resumes after `last`.
            if finished or not reconnect:
                return
            await asyncio.sleep(0.5)

    async def _event_stream(self, run_id: str, after_seq: int) -> AsyncIterator[RunEvent]:
        headers = {"Accept": "text/event-stream"}
        if after_seq:
            headers["Last-Event-ID"] = str(after_seq)
        timeout = httpx.Timeout(self._http.timeout.connect, read=_STREAM_READ_TIMEOUT_S)
        async with self._http.stream(
            "GET", f"/v1/runs/{run_id}/events", headers=headers, timeout=timeout
        ) as response:
            if response.status_code == 204:
                return
            if response.is_error:
                await response.aread()
                raise _problem(response)
            async for message in parse_sse(response.aiter_lines()):
                try:
                    yield RUN_EVENT_ADAPTER.validate_json(message.data)
                except ValidationError:
                    continue

    async def watch(
        self, run_id: str, *, poll_s: float = 0.1, timeout_s: float = 120.0
    ) -> AsyncIterator[RunView]:
        """Yield the run each time it changes, until it reaches a terminal state (polling)."""
        deadline = time.monotonic() + timeout_s
        last: RunView | None = None
        while True:
            run = await self.get_run(run_id)
            if run != last:
                yield run
                last = run
            if RunStatus(str(run["status"])).is_terminal:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run['status']} after {timeout_s}s")
            await asyncio.sleep(poll_s)

    async def wait(self, run_id: str, *, timeout_s: float = 120.0) -> RunView:
        last: RunView = {}
        async for run in self.watch(run_id, timeout_s=timeout_s):
            last = run
        return last

    # --- the platform ------------------------------------------------------------------
    async def tools(self) -> list[RunView]:
        body = await self._json(await self._http.get("/v1/tools"))
        return cast(list[RunView], body["tools"])

    async def status(self) -> RunView:
        return await self._json(await self._http.get("/v1/status"))

    async def usage(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> RunView:
        params = {
            k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None
        }
        return await self._json(await self._http.get("/v1/usage", params=params))
