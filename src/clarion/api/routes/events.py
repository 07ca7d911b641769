"""Event intake over HTTP: one event, or many in one transaction; idempotency keys honoured."""

from __future__ import annotations

from fastapi import APIRouter, Response

from clarion import encoding
from clarion.access import AdminDep, ServiceDep
from clarion.api.schemas import EventBatchIn, EventIn, EventQueued, EventsQueued
from clarion.intake.events import EventInput, commit_plan, plan_events

router = APIRouter(prefix="/api/v1", tags=["events"])


def _input(body: EventIn) -> EventInput:
    return EventInput(
        type=body.type,
        user_id=body.user_id,
        user_email=body.user_email,
        labels=body.labels,
        data=body.data,
        targets=body.targets,
    )


# Answered with raw JSON (FastAPI's generic encoder is slow on big batches); the models
# document the bodies.
@router.post("/events", status_code=202, responses={202: {"model": EventQueued}})
async def post_event(body: EventIn, service: ServiceDep, principal: AdminDep) -> Response:
    """Stored with the events other requests post meanwhile (see clarion.intake.coalesce)."""
    status, answer = await service.single_events.submit(
        _input(body),
        created_by=principal.user.id if principal.user else None,
        scope=principal.scope,
        key=body.idempotency_key,
    )
    return Response(answer, status_code=status, media_type="application/json")


@router.post("/events/batch", status_code=202, responses={202: {"model": EventsQueued}})
async def post_events(body: EventBatchIn, service: ServiceDep, principal: AdminDep) -> Response:
    """All events are stored together, or none (a bad one names its index)."""
    created_by = principal.user.id if principal.user else None
    keys = [event.idempotency_key for event in body.events]
    if any(keys):
        answers = await service.single_events.submit_batch(
            [_input(event) for event in body.events],
            keys,
            created_by=created_by,
            scope=principal.scope,
        )
        return Response(
            '{"events":[' + ",".join(answers) + "]}",
            status_code=202,
            media_type="application/json",
        )
    async with service.db.read() as conn:
        plan = await plan_events(
            conn,
            [_input(event) for event in body.events],
            service.intake_config,
            service.config_cache,
            created_by=created_by,
        )
    results = await commit_plan(service.db, plan)
    # Plain strings only: encoded directly (FastAPI's generic encoder is slow on big batches).
    response = encoding.dumps({"events": [r.to_dict() for r in results]})
    return Response(response, status_code=202, media_type="application/json")
