"""Composition root: settings -> telemetry -> broker -> handlers -> app."""

from __future__ import annotations

import importlib.metadata

from faststream import AsyncAPI
from faststream.asgi import AsgiFastStream

from pulse_broker import build_broker, provision_all, serve, service_app
from pulse_planner.config import PlannerSettings
from pulse_planner.domain import Planner, RuleBasedPlanner
from pulse_planner.handlers import register_handlers
from pulse_telemetry import Telemetry, setup_telemetry

__all__ = ["asyncapi", "create_app", "main"]


def create_app(
    settings: PlannerSettings | None = None,
    *,
    planner: Planner | None = None,
    telemetry: Telemetry | None = None,
) -> AsgiFastStream:
    """The planner: its consumer plus /healthz, /readyz and /metrics on `http_port`.

    Streams are provisioned on start-up, before FastStream creates the durable consumer.
    """
    settings = settings or PlannerSettings()
    telemetry = telemetry or setup_telemetry(settings)
    broker = build_broker(settings, telemetry)
    register_handlers(broker, settings, planner or RuleBasedPlanner(), telemetry.registry)

    async def provision() -> None:
        await provision_all(broker, settings)

    return service_app(broker, telemetry, on_startup=[provision])


def asyncapi(app: AsgiFastStream) -> AsyncAPI:
    """The AsyncAPI document of what the planner consumes and publishes."""
    try:
        version = importlib.metadata.version("pulse-planner")
    except importlib.metadata.PackageNotFoundError:
        version = "0.0.0"
    assert app.broker is not None
    return AsyncAPI(
        app.broker,
        title="Pulse planner",
        version=version,
        description="Turns requested runs into plans (DAGs of steps) or rejections.",
    )


def main() -> None:
    settings = PlannerSettings()
    serve(create_app(settings), settings)
