"""A deadline for answering: a request that has not started its response after
`timeout_s` is cut off with a 504 problem. Once a response has started (an event stream,
say) it is left to finish on its own terms."""

from __future__ import annotations

import asyncio
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
        # One task for the request and a timer that cancels it unless it has started
        # answering: no second task, event or `asyncio.wait` per request, which cost as
        # much as a cheap endpoint's own work. The request keeps a task (and a context)
        # of its own, as the SDKs mounted here (A2A) expect.
        started = False
        cut_off = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        def cut_off_unless_started() -> None:
            nonlocal cut_off
            if not started:
                cut_off = True
                handling.cancel()

        handling = asyncio.ensure_future(self.app(scope, receive, send_noting_start))
        deadline = asyncio.get_running_loop().call_later(self.timeout_s, cut_off_unless_started)
        try:
            # Awaiting the task directly: cancelling this one (a shutdown) cancels it too.
            await handling
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not cut_off or (current is not None and current.cancelling()):
                raise
        except Exception:
            if not cut_off:  # what a request cut off raised on its way out gives way to the 504
                raise
        finally:
            deadline.cancel()
        if not cut_off or started:
            return  # answered, or began answering while being cut off: nothing to add
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
