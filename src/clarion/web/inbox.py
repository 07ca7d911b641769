"""``/``: the signed-in user's inbox (what the ``inbox`` method delivered to them)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from clarion.access import ServiceDep
from clarion.access.inbox_stream import inbox_stream
from clarion.limits import parse_request_time
from clarion.store import inbox
from clarion.web.frame import app_page
from clarion.web.pages import SCRIPT_HEADERS, PageError, message_page, parse_id, see_other
from clarion.web.session import SignedIn, signed_in

router = APIRouter(tags=["web"], include_in_schema=False)
SHOWN = 100


@router.get("/")
async def home(request: Request, service: ServiceDep, principal: SignedIn) -> Response:
    user = principal.user
    if user is None:  # the admin token has no inbox of its own
        return see_other("/admin/messages")
    async with service.db.read() as conn:
        rows = await inbox.inbox_items(conn, user.id, limit=SHOWN)
    items = [
        {
            "id": row.id,
            "title": (row.content or {}).get("title", row.event_type),
            # Rendered from Markdown and sanitized with nh3 when the message was made.
            "body_html": Markup((row.content or {}).get("body_html", "")),
            "actions": (row.content or {}).get("actions", []),
            "read_at": row.read_at,
            "sent_at": f"{row.sent_at:%Y-%m-%d %H:%M} UTC" if row.sent_at else "",
        }
        for row in rows
    ]
    return await app_page(
        request,
        service,
        principal,
        "inbox.html",
        "Inbox",
        "inbox",
        headers=SCRIPT_HEADERS,
        items=items,
        rendered_at=datetime.now(UTC).isoformat(),
    )


@router.get("/inbox/stream")
async def stream(
    request: Request, service: ServiceDep, principal: SignedIn, since: str = ""
) -> Response:
    """The inbox page's live updates: the API's stream, for the signed-in user, from when
    the page was rendered; it ends when the session does."""
    user = principal.user
    if user is None:
        raise PageError(404, "No inbox", "The admin token has no inbox of its own.")
    try:
        start = parse_request_time(since) if since else None
    except ValueError as exc:
        raise PageError(422, "Not understood", f"since: {exc}") from None

    return inbox_stream(request, service, user.id, lambda: signed_in(request, service), start)


@router.get("/static/inbox.js")
async def inbox_script() -> Response:
    return Response(
        _script(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@cache
def _script() -> bytes:
    return (files("clarion.web") / "static" / "inbox.js").read_bytes()


@router.post("/inbox/read-all")
async def read_all(service: ServiceDep, principal: SignedIn) -> Response:
    if principal.user is not None:
        async with service.db.begin() as conn:
            await inbox.mark_all_read(conn, principal.user.id)
    return see_other("/")


@router.post("/inbox/{ref}/read")
async def read_one(ref: str, service: ServiceDep, principal: SignedIn) -> Response:
    message_id = parse_id(ref, "inbox message")
    found = False
    if principal.user is not None:
        async with service.db.begin() as conn:
            found = await inbox.mark_read(conn, principal.user.id, message_id)
    if not found:
        return message_page(service.brand, 404, "Not found", "There is no such inbox message.")
    return see_other("/")
