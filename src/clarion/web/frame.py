"""The signed-in pages' frame: navigation, who is signed in, unread count, the pause banner."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from clarion.access import Principal
from clarion.service import Service
from clarion.store.inbox import unread_count
from clarion.store.settings import is_paused
from clarion.web.pages import HEADERS, page
from clarion.web.session import next_path


async def confirm_page(
    request: Request,
    service: Service,
    principal: Principal,
    section: str,
    *,
    title: str,
    message: str,
    action: str,
    button: str,
    cancel: str,
) -> HTMLResponse:
    """Asks before a destructive post (pages carry no script for a confirm dialog)."""
    return await app_page(
        request,
        service,
        principal,
        "confirm.html",
        title,
        section,
        message=message,
        action=action,
        button=button,
        cancel=cancel,
    )


async def app_page(
    request: Request,
    service: Service,
    principal: Principal,
    template: str,
    title: str,
    section: str,
    status: int = 200,
    headers: dict[str, str] = HEADERS,
    **values: Any,
) -> HTMLResponse:
    user = principal.user
    unread = 0
    if user is not None:
        async with service.db.read() as conn:
            unread = await unread_count(conn, user.id)
    return page(
        service.brand,
        template,
        status,
        title,
        headers,
        user=user,
        admin=principal.is_admin,
        who=(user.name or user.username) if user else "admin token",
        unread=unread,
        paused=await is_paused(service.db) if principal.is_admin else False,
        here=next_path(request),
        section=section,
        **values,
    )
