"""The web pages: the signed-in inbox and admin pages, and those opened from an email."""

from __future__ import annotations

from fastapi import APIRouter

from clarion.web import admin, channels, inbox, preferences, signin, unsubscribe, users

router = APIRouter()
for _module in (unsubscribe, preferences, signin, inbox, admin, channels, users):
    router.include_router(_module.router)
