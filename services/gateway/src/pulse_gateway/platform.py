"""`GET /v1/status`: every component's health as the bus sees it, plus NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime

from pulse_contracts import utcnow
from pulse_gateway.adapters.ports import BusInspector, RunArchive
from pulse_gateway.domain import ComponentHealth, component_health, overall

__all__ = ["PlatformStatus", "StatusReport"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusReport:
    status: str
    checked_at: datetime
    dependencies: dict[str, bool] = field(default_factory=dict)
    components: list[ComponentHealth] = field(default_factory=list)


async def _bounded(check: Awaitable[bool], timeout_s: float, name: str) -> bool:
    try:
        return await asyncio.wait_for(check, timeout_s)
    except Exception:  # a check that breaks means "not reachable", never a 500
        log.warning("status check %s failed", name, exc_info=True)
        return False


class PlatformStatus:
    def __init__(self, bus: BusInspector, archive: RunArchive | None, *, timeout_s: float) -> None:
        self._bus = bus
        self._archive = archive
        self._timeout_s = timeout_s

    async def report(self) -> StatusReport:
        checks = {"nats": self._bus.reachable()}
        if self._archive is not None:
            checks["postgres"] = self._archive.reachable()
        names = list(checks)
        results = await asyncio.gather(*(_bounded(checks[n], self._timeout_s, n) for n in names))
        dependencies = dict(zip(names, results, strict=True))
        components: list[ComponentHealth] = []
        if dependencies["nats"]:
            try:
                lags = await asyncio.wait_for(self._bus.consumers(), self._timeout_s)
                components = component_health(lags)
            except Exception:
                log.warning("cannot read the consumers", exc_info=True)
                dependencies["nats"] = False
        return StatusReport(
            status=overall(components, dependencies) if components else "degraded",
            checked_at=utcnow(),
            dependencies=dependencies,
            components=components,
        )
