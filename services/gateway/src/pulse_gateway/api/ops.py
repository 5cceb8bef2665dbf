"""Liveness, readiness and metrics for Kubernetes probes and Prometheus."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pulse_gateway.api.deps import gateway_state

__all__ = ["ops_router"]

log = logging.getLogger(__name__)


def ops_router(registry: CollectorRegistry, *, readiness_timeout_s: float) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="NATS answers and the run-state bucket is reachable",
        responses={503: {"description": "Not ready; `failing` names what is down"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        failing: list[str] = []
        for name, check in gateway_state(request).readiness:
            try:
                ok = await asyncio.wait_for(check(), readiness_timeout_s)
            except Exception:  # a broken check means "not ready", never a 500
                log.warning("readiness check %s failed", name, exc_info=True)
                ok = False
            if not ok:
                failing.append(name)
        if failing:
            return JSONResponse({"status": "not ready", "failing": failing}, status_code=503)
        return JSONResponse({"status": "ready"})

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
