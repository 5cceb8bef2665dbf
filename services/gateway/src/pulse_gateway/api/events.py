"""A run's events as they happen: Server-Sent Events and WebSocket.

SSE: `GET /v1/runs/{id}/events` with the usual `Authorization` header; each event is
`id: <seq>`, `event: <type>`, `data: <event JSON>`; `Last-Event-ID` (or `?after_seq=`)
resumes after that seq; a comment line is the heartbeat; after the run's end the stream
closes, and a resume from the end gets 204 (which stops a browser's EventSource).

WebSocket: `/v1/runs/{id}/ws` with `Authorization: Bearer <key>` (or `?access_token=` for
browsers, which cannot set headers on a WebSocket); text frames `{"seq","type","event"}`,
`{"type":"heartbeat"}` when idle, `{"type":"end"}` before a normal close (1000). Refusals
are a `{"type":"error","status",...}` frame and close codes 4401 / 4404 / 4429 / 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response, WebSocket
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from pulse_gateway.adapters.ports import ArchiveUnavailableError, BusUnavailableError
from pulse_gateway.api.deps import Caller, Streams, authenticate_key
from pulse_gateway.api.problems import PROBLEM_RESPONSES, problem_doc
from pulse_gateway.api.strict import refuse_unknown_query
from pulse_gateway.control import RunNotFoundError
from pulse_gateway.domain import parse_resume_seq, sse_comment, sse_event, ws_frame
from pulse_gateway.protection import RateLimitedError
from pulse_gateway.streaming import EventStream, Heartbeat

__all__ = ["events_router"]

log = logging.getLogger(__name__)

_SSE_HEADERS: Final = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
_SSE_DOC: Final = {
    "description": "The run's events as `text/event-stream`",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


async def _sse(stream: EventStream) -> AsyncIterator[bytes]:
    yield sse_comment(f"run {stream.run.run_id}")
    async for item in stream.items():
        yield sse_comment("heartbeat") if isinstance(item, Heartbeat) else sse_event(item)


def _bearer(authorization: str | None, access_token: str | None) -> str | None:
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        return credentials.strip() if scheme.lower() == "bearer" else None
    return access_token


async def _refuse(websocket: WebSocket, status: int, detail: str, code: int) -> None:
    await websocket.accept()
    await websocket.send_text(json.dumps({"type": "error", "status": status, "detail": detail}))
    await websocket.close(code=code, reason=detail[:120])


async def _pump(websocket: WebSocket, stream: EventStream) -> None:
    async for item in stream.items():
        if isinstance(item, Heartbeat):
            await websocket.send_text('{"type":"heartbeat"}')
        else:
            await websocket.send_text(ws_frame(item))
    await websocket.send_text('{"type":"end"}')


async def _until_client_leaves(websocket: WebSocket) -> None:
    # Clients have nothing to say; reading is how a close from their side is noticed.
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


def events_router() -> APIRouter:
    router = APIRouter(
        prefix="/v1/runs", tags=["events"], dependencies=[Depends(refuse_unknown_query)]
    )

    @router.get(
        "/{run_id}/events",
        response_class=StreamingResponse,
        summary="Follow the run's events (Server-Sent Events): replay, then live, until it ends",
        responses={
            **PROBLEM_RESPONSES,
            200: _SSE_DOC,
            204: {"description": "The run ended and the client has seen its last event"},
            404: problem_doc("No such run (or another tenant's)"),
        },
    )
    async def run_events(
        run_id: str,
        caller: Caller,
        streams: Streams,
        last_event_id: Annotated[str | None, Header(max_length=32)] = None,
        after_seq: Annotated[int | None, Query(ge=0, le=2**53)] = None,
    ) -> Response:
        resume = after_seq if after_seq is not None else parse_resume_seq(last_event_id)
        stream = await streams.open(tenant=caller.id, run_id=run_id, after_seq=resume)
        if stream.finished:
            return Response(status_code=204)
        return StreamingResponse(_sse(stream), media_type="text/event-stream", headers=_SSE_HEADERS)

    @router.websocket("/{run_id}/ws")
    async def run_events_ws(
        websocket: WebSocket,
        run_id: str,
        authorization: Annotated[str | None, Header()] = None,
        access_token: Annotated[str | None, Query(max_length=512)] = None,
        after_seq: Annotated[int, Query(ge=0, le=2**53)] = 0,
    ) -> None:
        state = websocket.app.state.gateway
        try:
            tenant = await authenticate_key(state, _bearer(authorization, access_token))
            if state.streams is None:
                raise BusUnavailableError("the gateway is still connecting to NATS")
            stream = await state.streams.open(tenant=tenant.id, run_id=run_id, after_seq=after_seq)
        except HTTPException as exc:
            await _refuse(websocket, exc.status_code, str(exc.detail), 4000 + exc.status_code)
            return
        except RunNotFoundError:
            await _refuse(websocket, 404, "No such run.", 4404)
            return
        except RateLimitedError as exc:
            await _refuse(websocket, 429, f"Rate limited; retry after {exc.retry_after_s} s.", 4429)
            return
        except (BusUnavailableError, ArchiveUnavailableError):
            await _refuse(websocket, 503, "Temporarily unavailable; please retry.", 1013)
            return
        await websocket.accept()
        pumping = asyncio.create_task(_pump(websocket, stream))
        listening = asyncio.create_task(_until_client_leaves(websocket))
        try:
            await asyncio.wait({pumping, listening}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pumping, listening):
                task.cancel()
            outcome, _ = await asyncio.gather(pumping, listening, return_exceptions=True)
        if isinstance(outcome, Exception) and not isinstance(outcome, WebSocketDisconnect):
            log.warning("event stream of run %s broke", run_id, exc_info=outcome)
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code=1000)

    return router
