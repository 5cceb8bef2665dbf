"""Refuse request bodies over the configured size, as a 413 problem."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse_gateway.api.problems import problem_response

__all__ = ["BodySizeLimitMiddleware"]


class BodySizeLimitMiddleware:
    """413 before reading when `Content-Length` announces too much; otherwise the bytes are
    counted as the app reads them (chunked bodies have no length), and the read that crosses
    the limit raises a 413 `HTTPException`, which the problem handler answers."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _detail(self) -> str:
        return f"Request bodies are limited to {self.max_body_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                response = problem_response(
                    Request(scope), 400, kind="bad-request", detail="Invalid Content-Length."
                )
                await response(scope, receive, send)
                return
            if int(declared) > self.max_body_bytes:
                response = problem_response(
                    Request(scope), 413, kind="content-too-large", detail=self._detail()
                )
                await response(scope, receive, send)
                return

        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, receive_counted, send)
