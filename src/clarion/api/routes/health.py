"""Liveness, readiness and Prometheus metrics (no auth)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from clarion import metrics
from clarion.access import ServiceDep
from clarion.store.db import unavailable_reason

router = APIRouter(tags=["health"])
log = structlog.get_logger("clarion.api")


class Health(BaseModel):
    status: str
    database: str


class Readiness(BaseModel):
    """``reason`` when the database cannot be reached; otherwise whether this process
    dispatches and hears other replicas' wake-ups."""

    ready: bool
    dispatching: bool | None = None
    listening: bool | None = None
    reason: str | None = None


# The answers are built as they are sent (a 503 carries the same shape), so only the
# fields that apply appear.
@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(service: ServiceDep) -> JSONResponse:
    try:
        await service.db.ping()
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"}, 503
        )
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(service: ServiceDep) -> JSONResponse:
    try:
        await service.db.ping()
    except Exception as exc:
        why = unavailable_reason(exc) or f"the check failed ({type(exc).__name__})"
        return JSONResponse({"ready": False, "reason": f"database unavailable: {why}"}, 503)
    ready = service.dispatching or not service.dispatch
    # Not listening, it still works by the fallback poll, only slower to hear other replicas.
    answer = {"ready": ready, "dispatching": service.dispatching, "listening": service.db.listening}
    return JSONResponse(answer, 200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus' text exposition format",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
)
async def prometheus(service: ServiceDep) -> Response:
    try:
        await service.refresh_queue_metrics()
    except Exception:
        # The counters and histograms are still worth a scrape; /healthz tells of the database.
        log.exception("could not read the queue for /metrics; serving the last values")
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
