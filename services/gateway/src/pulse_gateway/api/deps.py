"""What request handlers get injected: the caller's tenant and the run intake."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pulse_broker import ReadinessCheck
from pulse_gateway.adapters.ports import BusUnavailableError, RunStore
from pulse_gateway.api.auth import ApiKeys
from pulse_gateway.control import RunControl
from pulse_gateway.intake import RunIntake

__all__ = ["Control", "GatewayState", "Intake", "ReadinessCheck", "Tenant", "gateway_state"]


@dataclass
class GatewayState:
    """Everything the routes share; NATS-backed parts are filled in by the lifespan."""

    api_keys: ApiKeys
    intake: RunIntake | None = None
    control: RunControl | None = None
    store: RunStore | None = None
    readiness: list[tuple[str, ReadinessCheck]] = field(default_factory=list)


def gateway_state(request: Request) -> GatewayState:
    state = request.app.state.gateway
    assert isinstance(state, GatewayState)
    return state


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def _tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    challenge = {"WWW-Authenticate": 'Bearer realm="pulse"'}
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "Send an API key as `Authorization: Bearer <key>`.", challenge)
    tenant = gateway_state(request).api_keys.tenant_for(credentials.credentials)
    if tenant is None:
        raise HTTPException(401, "Unknown API key.", challenge)
    return tenant


def _intake(request: Request) -> RunIntake:
    intake = gateway_state(request).intake
    if intake is None:
        raise BusUnavailableError("the gateway is still connecting to NATS")
    return intake


def _control(request: Request) -> RunControl:
    control = gateway_state(request).control
    if control is None:
        raise BusUnavailableError("the gateway is still connecting to NATS")
    return control


Tenant = Annotated[str, Depends(_tenant)]
Intake = Annotated[RunIntake, Depends(_intake)]
Control = Annotated[RunControl, Depends(_control)]
