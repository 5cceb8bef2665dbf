"""What request handlers get injected: the authenticated caller (after its rate limit) and
the services behind the routes. Parts that need NATS are filled in by the lifespan; until
then a route that needs one answers 503."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pulse_broker import ReadinessCheck
from pulse_gateway.adapters.ports import BusUnavailableError, RunStore, ToolCatalogue
from pulse_gateway.auth import Authenticator
from pulse_gateway.control import RunControl
from pulse_gateway.domain import Tenant
from pulse_gateway.history import RunHistory
from pulse_gateway.intake import RunIntake
from pulse_gateway.platform import PlatformStatus
from pulse_gateway.protection import Admission, RequestGuard
from pulse_gateway.streaming import RunEventStreams

__all__ = [
    "Caller",
    "Control",
    "GatewayState",
    "History",
    "Intake",
    "ReadinessCheck",
    "Status",
    "Streams",
    "Tools",
    "authenticate_key",
    "gateway_state",
]

T = TypeVar("T")

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="pulse"'}


@dataclass
class GatewayState:
    """Everything the routes share."""

    authenticator: Authenticator
    guard: RequestGuard | None = None
    admission: Admission | None = None
    intake: RunIntake | None = None
    control: RunControl | None = None
    store: RunStore | None = None
    history: RunHistory | None = None
    streams: RunEventStreams | None = None
    tools: ToolCatalogue | None = None
    status: PlatformStatus | None = None
    readiness: list[tuple[str, ReadinessCheck]] = field(default_factory=list)


def gateway_state(request: Request) -> GatewayState:
    state = request.app.state.gateway
    assert isinstance(state, GatewayState)
    return state


async def authenticate_key(state: GatewayState, presented: str | None) -> Tenant:
    """The caller behind `presented` after spending one request of its rate limit.

    Raises 401 (`HTTPException`), `RateLimitedError` (429) or `ArchiveUnavailableError`
    (503). WebSocket routes call it directly; HTTP routes through `Caller`.
    """
    if not presented:
        raise HTTPException(401, "Send an API key as `Authorization: Bearer <key>`.", CHALLENGE)
    tenant = await state.authenticator.authenticate(presented)
    if tenant is None:
        raise HTTPException(401, "Unknown API key.", CHALLENGE)
    if state.guard is not None:
        await state.guard.check(tenant)
    return tenant


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Tenant:
    tenant = await authenticate_key(
        gateway_state(request), credentials.credentials if credentials else None
    )
    request.state.tenant = tenant
    return tenant


# Every dependency is `async def`: FastAPI runs plain `def` ones in a thread pool, which
# costs more than what they do.
def _connected(value: T | None) -> T:
    if value is None:
        raise BusUnavailableError("the gateway is still connecting to NATS")
    return value


async def _intake(request: Request) -> RunIntake:
    return _connected(gateway_state(request).intake)


async def _control(request: Request) -> RunControl:
    return _connected(gateway_state(request).control)


async def _history(request: Request) -> RunHistory:
    return _connected(gateway_state(request).history)


async def _streams(request: Request) -> RunEventStreams:
    return _connected(gateway_state(request).streams)


async def _tools(request: Request) -> ToolCatalogue:
    return _connected(gateway_state(request).tools)


async def _status(request: Request) -> PlatformStatus:
    return _connected(gateway_state(request).status)


Caller = Annotated[Tenant, Depends(_caller)]
Intake = Annotated[RunIntake, Depends(_intake)]
Control = Annotated[RunControl, Depends(_control)]
History = Annotated[RunHistory, Depends(_history)]
Streams = Annotated[RunEventStreams, Depends(_streams)]
Tools = Annotated[ToolCatalogue, Depends(_tools)]
Status = Annotated[PlatformStatus, Depends(_status)]
