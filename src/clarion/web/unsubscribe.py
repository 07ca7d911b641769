"""One-click unsubscribe (RFC 8058): no login, the signed link is the authority.

``POST /unsubscribe/{token}`` (what mail clients send, body ``List-Unsubscribe=One-Click``,
and what the confirmation page's button sends) opts the user out of the link's event type
and answers 200 without a redirect. ``GET`` only shows a page asking to confirm, because
mail scanners follow links.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from clarion.access import ServiceDep
from clarion.links import OptOut
from clarion.store.event_types import get_event_type
from clarion.store.users import find_user, set_preference
from clarion.web.pages import message_page

router = APIRouter(tags=["unsubscribe"], include_in_schema=False)

INVALID = (
    "This unsubscribe link is not valid (it may have been cut short by your mail program). "
    "You can change what you receive in your notification settings."
)


async def _resolve(service: ServiceDep, token: str) -> tuple[OptOut, str] | None:
    """The opt-out of a valid link whose user still exists, and its event type's name."""
    opt_out = service.links.read_unsubscribe(token)
    if opt_out is None:
        return None
    async with service.db.read() as conn:
        user = await find_user(conn, str(opt_out.user_id))
        event_type = await get_event_type(conn, opt_out.event_type)
    if user is None or user.status == "deleted":
        return None
    return opt_out, event_type.name if event_type else opt_out.event_type


def _page(
    service: ServiceDep,
    status: int,
    title: str,
    message: str,
    opt_out: OptOut | None = None,
    token: str = "",
    **form: str,
) -> HTMLResponse:
    """A page linking to the settings, opened for the link's user when the link is valid.

    The settings link is dated as the unsubscribe link, so it expires as if it had come in
    the same email."""
    if opt_out is None:
        settings_url = service.links.settings_url(None)
    else:
        issued = service.links.issued_at(token)
        settings_url = service.links.settings_url(str(opt_out.user_id), issued)
    return message_page(service.brand, status, title, message, settings_url=settings_url, **form)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def confirm(token: str, service: ServiceDep) -> HTMLResponse:
    found = await _resolve(service, token)
    if found is None:
        return _page(service, 404, "Link not valid", INVALID)
    opt_out, name = found
    return _page(
        service,
        200,
        "Unsubscribe?",
        f"You will no longer receive “{name}” notifications.",
        opt_out,
        token,
        form_action=f"/unsubscribe/{token}",
        button="Unsubscribe",
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(token: str, service: ServiceDep) -> HTMLResponse:
    found = await _resolve(service, token)
    if found is None:
        return _page(service, 404, "Link not valid", INVALID)
    opt_out, name = found
    async with service.db.begin() as conn:
        await set_preference(conn, opt_out.user_id, opt_out.event_type, disabled=True)
    return _page(
        service,
        200,
        "You are unsubscribed",
        f"You will no longer receive “{name}” notifications. "
        "You can turn them back on in your notification settings.",
        opt_out,
        token,
    )
