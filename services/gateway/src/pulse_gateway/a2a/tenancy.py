"""Who is calling over A2A: the same API keys as the REST API, the same tenants, the same
rate limits and the same back-pressure.

Every A2A endpoint (not the agent card) is wrapped so the gateway authenticates the caller
(`authenticate_key`: 401, 429 and 503 answered by its problem handlers) before the SDK
sees the request, and a request that would start a run passes the gateway's admission
(503 with `Retry-After` while the planner's queue is too long). The tenant goes into the
ASGI scope, and the SDK's call context carries it as the authenticated user; the task
store, executor and handler read it from there and nowhere else. The A2A `tenant` field a
client may send is only a routing hint and is ignored.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Final

from a2a.auth.user import User
from a2a.server.context import ServerCallContext
from a2a.server.routes import DefaultServerCallContextBuilder
from a2a.types import InvalidRequestError
from starlette.requests import Request
from starlette.responses import Response

from pulse_gateway.api.deps import authenticate_key, gateway_state

__all__ = [
    "TENANT_SCOPE_KEY",
    "TenantCallContextBuilder",
    "TenantUser",
    "authenticated",
    "tenant_of",
]

TENANT_SCOPE_KEY: Final = "pulse.tenant"
_RUN_STARTING_METHODS: Final = frozenset(
    {"SendMessage", "SendStreamingMessage", "message/send", "message/stream"}
)
_RUN_STARTING_PATHS: Final = ("/message:send", "/message:stream")


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


async def _starts_a_run(request: Request) -> bool:
    if request.method != "POST":
        return False
    if request.url.path.endswith(_RUN_STARTING_PATHS):
        return True
    try:
        # Starlette keeps the body on the request, so the SDK reads it again for free.
        body = json.loads(await request.body())
    except (ValueError, UnicodeError):
        return False  # the SDK answers it with a parse error
    return isinstance(body, dict) and body.get("method") in _RUN_STARTING_METHODS


Endpoint = Callable[[Request], Awaitable[Response]]


def authenticated(endpoint: Endpoint) -> Endpoint:
    """`endpoint` behind the gateway's authentication, rate limit and admission."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        state = gateway_state(request)
        tenant = await authenticate_key(state, _bearer(request))
        if state.admission is not None and await _starts_a_run(request):
            await state.admission.admit()
        request.scope[TENANT_SCOPE_KEY] = tenant.id
        return await endpoint(request)

    return guarded


class TenantUser(User):
    def __init__(self, tenant: str) -> None:
        self._tenant = tenant

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def user_name(self) -> str:
        return self._tenant


class TenantCallContextBuilder(DefaultServerCallContextBuilder):
    """The SDK's call context, with the tenant as its user and without the API key."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        headers = context.state.get("headers")
        if isinstance(headers, dict):
            # The SDK keeps every header in the context; the key must not travel further.
            headers.pop("authorization", None)
        return context

    def build_user(self, request: Request) -> User:
        tenant = request.scope.get(TENANT_SCOPE_KEY)
        if isinstance(tenant, str) and tenant:
            return TenantUser(tenant)
        return super().build_user(request)


def tenant_of(context: ServerCallContext) -> str:
    """The caller's tenant; a call that got past the guard always has one."""
    user = context.user
    if not isinstance(user, TenantUser):
        raise InvalidRequestError(message="This call is not authenticated.")
    return user.user_name
