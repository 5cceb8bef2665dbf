"""Headers every response carries, whatever produced it."""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "SecurityHeadersMiddleware"]

SECURITY_HEADERS: Final[dict[str, str]] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Run state changes from second to second and may be a tenant's private data.
    "Cache-Control": "no-store",
}

# The interactive docs load their script and styles from a CDN; everything else is JSON.
_API_CSP: Final = "default-src 'none'; frame-ancestors 'none'"
_DOC_PATHS: Final = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_docs = str(scope.get("path", "")).startswith(_DOC_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if not is_docs and "Content-Security-Policy" not in headers:
                    headers["Content-Security-Policy"] = _API_CSP
            await send(message)

        await self.app(scope, receive, send_with_headers)
