"""``/settings/notifications``: a user's choice of what they receive, opened from any email.

The footer of every email to a user links here with a signed token naming that user, so no
login is needed; the token ages out after :data:`clarion.links.SETTINGS_LINK_SECONDS` and
every new email brings a fresh one. The page lists the event types that reach this user (as
the affected user or through a role they hold, and any they opted out of elsewhere), each a
checkbox; types an administrator turned off show, locked. Saving keeps every choice the page
did not show, and answers with a redirect back to the page (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from clarion.api.deps import ServiceDep
from clarion.intake.recipients import TRANSACTIONAL
from clarion.service import Service
from clarion.store.event_types import EventType, list_event_types
from clarion.store.users import (
    User,
    disabled_event_types,
    find_user,
    replace_disabled_event_types,
)
from clarion.web.pages import HEADERS, message_page, page

router = APIRouter(tags=["web"], include_in_schema=False)

PATH = "/settings/notifications"
FORM_LIMIT = 64 * 1024

NO_TOKEN = (
    "Your notification settings open from the “Notification settings” link at the foot of "
    "any email we send you. What a team address receives is chosen by your administrator."
)
INVALID = (
    "This settings link is not valid (it may have been cut short by your mail program). "
    "The “Notification settings” link in any of our emails opens your settings."
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


def _reaches(event_type: EventType, user: User) -> bool:
    """Whether the type's recipient rules name this user (as its subject or by role)."""
    for rule in event_type.recipients:
        if rule == "subject_user" or rule.removeprefix("role:") in user.roles:
            return True
    return False


def _choices(types: Iterable[EventType], user: User, disabled: set[str]) -> list[Choice]:
    choices = []
    for t in types:
        opted_out = t.enabled_by_default and t.key in disabled
        if t.key in TRANSACTIONAL or not (_reaches(t, user) or opted_out):
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


async def _user(service: Service, token: str) -> User | Response:
    """The user a settings link opens, or the page explaining why it opens nothing."""
    brand = service.brand
    if not token:
        return message_page(brand, 200, "Notification settings", NO_TOKEN)
    grant = service.links.read_settings(token)
    if grant is None:
        return message_page(brand, 404, "Link not valid", INVALID)
    if grant.expired:
        return message_page(brand, 410, "Link expired", EXPIRED)
    async with service.db.read() as conn:
        user = await find_user(conn, str(grant.user_id))
    if user is None or user.status == "deleted":
        return message_page(brand, 404, "Link not valid", INVALID)
    return user


def _off_by_default(types: Iterable[EventType]) -> list[str]:
    return [t.key for t in types if not t.enabled_by_default]


@router.get(PATH)
async def show(service: ServiceDep, token: str = "", saved: bool = False) -> Response:
    user = await _user(service, token)
    if not isinstance(user, User):
        return user
    async with service.db.read() as conn:
        types = await list_event_types(conn)
        disabled = set(await disabled_event_types(conn, user.id, _off_by_default(types)))
    choices = _choices(types, user, disabled)
    groups = [(group, list(rows)) for group, rows in groupby(choices, key=lambda c: c.group)]
    return page(
        service.brand,
        "preferences.html",
        200,
        "Notification settings",
        user_name=user.name or user.username,
        user_email=user.email,
        saved=saved,
        groups=groups,
        form_action=f"{PATH}?token={quote(token)}",
    )


@router.post(PATH)
async def save(request: Request, service: ServiceDep, token: str = "") -> Response:
    user = await _user(service, token)
    if not isinstance(user, User):
        return user
    body = await request.body()
    if len(body) > FORM_LIMIT:
        return message_page(service.brand, 413, "Too much", "The form sent was too large.")
    turned_on = set(parse_qs(body.decode("utf-8", "replace")).get("on", []))
    async with service.db.begin() as conn:
        types = await list_event_types(conn)
        off = _off_by_default(types)
        disabled = set(await disabled_event_types(conn, user.id, off))
        editable = {c.key for c in _choices(types, user, disabled) if not c.locked}
        chosen = (disabled - editable) | (editable - turned_on)
        await replace_disabled_event_types(conn, user.id, sorted(chosen), off)
    target = f"{PATH}?token={quote(token)}&saved=1"
    return RedirectResponse(target, status_code=303, headers=HEADERS)
