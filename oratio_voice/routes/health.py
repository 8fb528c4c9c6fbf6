"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oratio_voice.services import Services

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Store, speech engine and agent runtime can serve calls; each named with its state."""
    services: Services = request.app.state.oratio
    checks = await services.readiness()
    ready = all(value.startswith("ok") for value in checks.values())
    body = {"ready": ready, "checks": checks, "live_calls": len(services.live)}
    return JSONResponse(body, status_code=200 if ready else 503)
