"""The API: its routes under /api/v1, health and metrics at the root."""

from __future__ import annotations

from fastapi import APIRouter

from clarion.api.routes import (
    channels,
    event_types,
    events,
    health,
    inbox,
    messages,
    notifications,
    slack,
    users,
)

router = APIRouter()
for _module in (
    health,
    users,
    events,
    event_types,
    channels,
    messages,
    notifications,
    inbox,
    slack,
):
    router.include_router(_module.router)
