"""Mounting A2A on the gateway: the SDK's JSON-RPC and HTTP+JSON routes (1.0, with the 0.3
method names and paths as well) around Pulse's executor, store and handler, the agent
card, and the handler's shutdown in the app's lifespan.

The routes are plain Starlette routes: they stay out of the gateway's OpenAPI document,
which describes the REST API only (A2A is described by the agent card). The HTTP+JSON
routes the SDK also offers under a `/{tenant}` prefix are left out: the API key decides
the tenant.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes import create_jsonrpc_routes, create_rest_routes
from fastapi import FastAPI
from faststream.nats import NatsBroker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pulse_contracts import ToolSpec
from pulse_gateway.a2a.card import AGENT_CARD_PATH, JSONRPC_PATH, REST_PATH, agent_card
from pulse_gateway.a2a.catalog import InMemoryRunCatalog, KvRunCatalog, RunCatalog
from pulse_gateway.a2a.executor import PulseAgentExecutor, PulseRequestContextBuilder
from pulse_gateway.a2a.handler import PulseRequestHandler, PulseTaskEventStream
from pulse_gateway.a2a.link import PulseLink
from pulse_gateway.a2a.store import PulseTaskStore
from pulse_gateway.a2a.tenancy import TenantCallContextBuilder, authenticated
from pulse_gateway.api.deps import GatewayState, gateway_state

__all__ = ["A2aGateway", "mount_a2a"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class A2aGateway:
    """What `mount_a2a` wired, for tests and for the lifespan."""

    handler: PulseRequestHandler
    link: PulseLink


async def _tools(state: GatewayState) -> Sequence[ToolSpec]:
    """The tool catalogue for the card's skills; the card is served without them when the
    catalogue cannot be read."""
    if state.tools is None:
        return ()
    try:
        return await state.tools.tools()
    except Exception:
        log.warning("agent card served without tool skills: catalogue unreadable", exc_info=True)
        return ()


def _catalog(state: GatewayState, broker: NatsBroker | None) -> RunCatalog:
    if broker is not None:
        return KvRunCatalog(lambda: broker.connection)
    return InMemoryRunCatalog(lambda: state.store)


def _guarded(routes: Sequence[BaseRoute]) -> list[Route]:
    return [
        Route(route.path, authenticated(route.endpoint), methods=route.methods)
        for route in routes
        # The SDK's `/{tenant}` mount: the tenant comes from the API key, not the path.
        if isinstance(route, Route)
    ]


def _with_shutdown(app: FastAPI, handler: PulseRequestHandler) -> None:
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as value:
            try:
                yield value
            finally:
                # Before the broker stops: the tasks still following runs let go first.
                await handler.aclose()

    app.router.lifespan_context = lifespan


def mount_a2a(app: FastAPI, *, cancel_wait_s: float = 10.0) -> A2aGateway:
    """Serve A2A from `app` (built by `create_app`): the agent card at
    `/.well-known/agent-card.json`, JSON-RPC at `/a2a/jsonrpc`, HTTP+JSON under `/a2a/rest`."""
    state: GatewayState = app.state.gateway
    link = PulseLink(state, _catalog(state, app.state.broker), cancel_wait_s=cancel_wait_s)
    card_template = agent_card("", version=app.version)
    handler = PulseRequestHandler(
        link,
        agent_executor=PulseAgentExecutor(link),
        task_store=PulseTaskStore(link),
        agent_card=card_template,
        request_context_builder=PulseRequestContextBuilder(link),
        event_stream=PulseTaskEventStream(link),
    )
    context_builder = TenantCallContextBuilder()
    jsonrpc = create_jsonrpc_routes(
        handler, JSONRPC_PATH, context_builder=context_builder, enable_v0_3_compat=True
    )
    rest = create_rest_routes(
        handler, context_builder=context_builder, enable_v0_3_compat=True, path_prefix=REST_PATH
    )

    async def card(request: Request) -> Response:
        base_url = str(request.base_url).rstrip("/")
        specs = await _tools(gateway_state(request))
        served = agent_card(base_url, version=app.version, tools=specs)
        return JSONResponse(
            agent_card_to_dict(served), headers={"Cache-Control": "public, max-age=60"}
        )

    app.router.routes.extend(
        [
            Route(AGENT_CARD_PATH, card, methods=["GET"]),
            *_guarded([*jsonrpc, *rest]),
        ]
    )
    _with_shutdown(app, handler)
    mounted = A2aGateway(handler, link)
    app.state.a2a = mounted
    return mounted
