"""``/settings/notifications``: a user's choice of what they receive, opened from any email.

The footer of every email to a user links here with a signed token naming that user, so no
login is needed (a signed-in user gets the same page without a token, in the app's frame).
The token ages out after :data:`clarion.links.SETTINGS_LINK_SECONDS`; every new email brings
a fresh one. The page lists the event types that reach this user (as
the affected user or through a role they hold, and any they opted out of elsewhere), each a
checkbox; types an administrator turned off show, locked. Saving keeps every choice the page
did not show, and answers with a redirect back to the page (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from clarion.access import Principal, ServiceDep
from clarion.intake.catalog import MUST_SEND
from clarion.intake.recipients import may_reach
from clarion.service import Service
from clarion.store.event_types import EventType, list_event_types
from clarion.store.users import (
    User,
    disabled_event_types,
    find_user,
    replace_disabled_event_types,
)
from clarion.web.frame import app_page
from clarion.web.pages import message_page, page, read_form, see_other
from clarion.web.session import from_our_origin, sign_in_first, signed_in

router = APIRouter(tags=["web"], include_in_schema=False)

PATH = "/settings/notifications"

NO_TOKEN = (
    "Your notification settings open from the “Notification settings” link at the foot of "
    "any email we send you, or here once you sign in. What a team address receives is "
    "chosen by your administrator."
)
INVALID = (
    "This settings link is not valid (it may have been cut short by your mail program). "
    "The “Notification settings” link in any of our emails opens your settings."
)
ADMIN_TOKEN = (
    "You are signed in with the admin token, which has no notifications of its own. "
    "Sign in with your own API token to choose what you receive."
)
EXPIRED = (
    "This settings link has expired. The “Notification settings” link in a newer email "
    "opens your settings."
)


@dataclass(frozen=True)
class Choice:
    group: str
    key: str
    name: str
    on: bool
    locked: bool
    note: str


def _choices(types: Iterable[EventType], user: User, disabled: set[str]) -> list[Choice]:
    choices = []
    for t in types:
        opted_out = t.enabled_by_default and t.key in disabled
        if t.key in MUST_SEND or not (may_reach(t, user) or opted_out):
            continue
        if not t.enabled:
            note = "Turned off for everyone by your administrator."
        elif not t.enabled_by_default:
            note = "Off unless you turn it on."
        else:
            note = ""
        on = t.enabled and t.key not in disabled
        choices.append(Choice(t.group, t.key, t.name, on, not t.enabled, note))
    return choices


@dataclass(frozen=True)
class Opened:
    """Whose settings are open, and how: by a link's token, or signed in (``principal``)."""

    user: User
    token: str = ""
    principal: Principal | None = None

    def path(self, **query: str) -> str:
        if self.token:
            query = {"token": self.token, **query}
        return f"{PATH}?{urlencode(query)}" if query else PATH


async def _open(request: Request, service: Service, token: str) -> Opened | Response:
    """Whose settings a link (or, without one, the session) opens, or the page saying why
    it opens nothing."""
    brand = service.brand
    if not token:
        principal = await signed_in(request, service)
        if principal is None and request.method == "POST":  # the session ended meanwhile
            raise sign_in_first(PATH)
        if principal is None:
            return message_page(brand, 200, "Notification settings", NO_TOKEN)
        if principal.user is None:
            return message_page(brand, 200, "Notification settings", ADMIN_TOKEN)
        if request.method == "POST" and not from_our_origin(request, service):
            return message_page(brand, 403, "Not saved", "This form was sent from another site.")
        return Opened(principal.user, principal=principal)
    grant = service.links.read_settings(token)
    if grant is None:
        return message_page(brand, 404, "Link not valid", INVALID)
    if grant.expired:
        return message_page(brand, 410, "Link expired", EXPIRED)
    async with service.db.read() as conn:
        user = await find_user(conn, str(grant.user_id))
    if user is None or user.status == "deleted":
        return message_page(brand, 404, "Link not valid", INVALID)
    return Opened(user, token=token)


def _off_by_default(types: Iterable[EventType]) -> list[str]:
    return [t.key for t in types if not t.enabled_by_default]


@router.get(PATH)
async def show(
    request: Request, service: ServiceDep, token: str = "", saved: bool = False
) -> Response:
    opened = await _open(request, service, token)
    if not isinstance(opened, Opened):
        return opened
    user = opened.user
    async with service.db.read() as conn:
        types = await list_event_types(conn)
        disabled = set(await disabled_event_types(conn, user.id, _off_by_default(types)))
    choices = _choices(types, user, disabled)
    groups = [(group, list(rows)) for group, rows in groupby(choices, key=lambda c: c.group)]
    values: dict[str, Any] = {"saved": saved, "groups": groups, "form_action": opened.path()}
    if opened.principal is not None:
        return await app_page(
            request,
            service,
            opened.principal,
            "settings.html",
            "Notification settings",
            "settings",
            **values,
        )
    return page(
        service.brand,
        "preferences.html",
        200,
        "Notification settings",
        user_name=user.name or user.username,
        user_email=user.email,
        **values,
    )


@router.post(PATH)
async def save(request: Request, service: ServiceDep, token: str = "") -> Response:
    opened = await _open(request, service, token)
    if not isinstance(opened, Opened):
        return opened
    user = opened.user
    form = await read_form(request)
    turned_on = set(form.get("on", []))
    async with service.db.begin() as conn:
        types = await list_event_types(conn)
        off = _off_by_default(types)
        disabled = set(await disabled_event_types(conn, user.id, off))
        editable = {c.key for c in _choices(types, user, disabled) if not c.locked}
        chosen = (disabled - editable) | (editable - turned_on)
        await replace_disabled_event_types(conn, user.id, sorted(chosen), off)
    return see_other(opened.path(saved="1"))
