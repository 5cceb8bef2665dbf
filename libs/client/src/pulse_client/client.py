"""A small async client for the gateway's HTTP API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Self, cast

import httpx

from pulse_contracts import JsonValue, RunStatus

__all__ = ["PulseApiError", "PulseClient", "RunView"]

RunView = dict[str, JsonValue]
"""A run as `GET /v1/runs/{id}` returns it (status, plan, steps, result, usage, trace_id...)."""


class PulseApiError(Exception):
    """The gateway answered with an RFC 9457 problem."""

    def __init__(self, status: int, problem: dict[str, JsonValue]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")


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
            try:
                problem = cast(dict[str, JsonValue], response.json())
            except ValueError:
                problem = {"title": response.reason_phrase, "detail": response.text[:500]}
            raise PulseApiError(response.status_code, problem)
        return cast(RunView, response.json())

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

    async def watch(
        self, run_id: str, *, poll_s: float = 0.1, timeout_s: float = 120.0
    ) -> AsyncIterator[RunView]:
        """Yield the run each time it changes, until it reaches a terminal state."""
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
