"""A deadline for answering: a request that has not started its response after
`timeout_s` is cut off with a 504 problem. Once a response has started (an event stream,
say) it is left to finish on its own terms."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse_gateway.api.problems import problem_response

__all__ = ["RequestTimeoutMiddleware"]

log = logging.getLogger(__name__)


class RequestTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = asyncio.Event()

        async def send_noting_start(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        handling = asyncio.ensure_future(self.app(scope, receive, send_noting_start))
        waiting_for_start = asyncio.ensure_future(started.wait())
        try:
            done, _ = await asyncio.wait(
                {handling, waiting_for_start},
                timeout=self.timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except BaseException:
            handling.cancel()
            raise
        finally:
            waiting_for_start.cancel()
        if done:
            # Answered (or answering) in time: let it run to the end, errors included.
            await handling
            return
        handling.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await handling
        if started.is_set():  # it began answering while being canceled; nothing to add
            return
        log.warning(
            "%s %s took over %.1f s; answered 504",
            scope.get("method"),
            scope.get("path"),
            self.timeout_s,
        )
        response = problem_response(
            Request(scope),
            504,
            kind="timeout",
            detail=f"No answer within {self.timeout_s:g} s; the request was abandoned.",
            with_trace=True,
        )
        await response(scope, receive, send)
