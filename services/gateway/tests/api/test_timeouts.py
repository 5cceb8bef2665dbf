"""The request deadline on bare ASGI apps: cut off before answering, left alone after."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from pulse_gateway.api.timeouts import RequestTimeoutMiddleware


async def _get(app: RequestTimeoutMiddleware) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        return await client.get("/slow")


async def _start(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})


async def test_a_stream_that_began_in_time_may_end_after_the_deadline() -> None:
    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        await _start(send)
        await asyncio.sleep(0.3)  # well past the deadline below
        await send({"type": "http.response.body", "body": b"late but whole"})

    response = await _get(RequestTimeoutMiddleware(streaming, timeout_s=0.05))
    assert response.status_code == 200
    assert response.text == "late but whole"


async def test_an_endpoint_that_ignores_being_cut_off_still_gets_a_504() -> None:
    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            raise RuntimeError("cleaning up failed") from None

    response = await _get(RequestTimeoutMiddleware(stubborn, timeout_s=0.05))
    assert response.status_code == 504
    assert response.json()["type"] == "urn:pulse:problem:timeout"


async def test_an_error_before_the_deadline_is_the_endpoints_own() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise TimeoutError("the store did not answer")

    with pytest.raises(TimeoutError, match="the store did not answer"):
        await _get(RequestTimeoutMiddleware(broken, timeout_s=5))


async def test_a_quick_answer_is_passed_through() -> None:
    async def quick(scope: Scope, receive: Receive, send: Send) -> None:
        await _start(send)
        await send({"type": "http.response.body", "body": b"ok"})

    response = await _get(RequestTimeoutMiddleware(quick, timeout_s=5))
    assert (response.status_code, response.text) == (200, "ok")
