"""The kill switch and the test notification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from clarion.access import AdminDep, PrincipalDep, ServiceDep, require_user
from clarion.api.schemas import EventQueued, PauseSettings, PauseState
from clarion.intake.events import EventInput, enqueue_event
from clarion.ratelimit import TEST_NOTIFICATIONS_PER_MINUTE
from clarion.store.settings import is_paused, set_paused

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/notifications/settings", response_model=PauseState)
async def get_settings(service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    return {"paused": await is_paused(service.db)}


@router.put("/notifications/settings", response_model=PauseState)
async def put_settings(
    body: PauseSettings, service: ServiceDep, principal: AdminDep
) -> dict[str, Any]:
    await set_paused(service.db, body.paused)
    return {"paused": body.paused}


@router.post("/notifications/test", status_code=202, response_model=EventQueued)
async def send_test(service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    """A test notification to the caller, by the deployment's default method."""
    user = require_user(principal)
    wait = service.limits.test_notifications.take(str(user.id))
    if wait is not None:
        raise HTTPException(
            429,
            f"too many test notifications: at most {TEST_NOTIFICATIONS_PER_MINUTE} a minute; "
            f"try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    async with service.db.begin() as conn:
        result = await enqueue_event(
            conn,
            EventInput(type="test_notification", user_id=user.id),
            service.intake_config,
            service.config_cache,
            created_by=user.id,
        )
        await service.db.notify_dispatch(conn)
    service.db.wake_local()
    return result.to_dict()
