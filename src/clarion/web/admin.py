"""The operator's pages: the message log with filters and reasons, one message with its
attempts, the event types (enable, method) and the pause switch."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from clarion.access import ServiceDep
from clarion.config import METHODS
from clarion.domain import messages
from clarion.domain.event_types import EventTypes
from clarion.errors import ClarionError
from clarion.store import event_types as types_store
from clarion.store.interactions import interactions_of
from clarion.store.message_log import (
    CursorError,
    LogFilter,
    message_attempts_of,
)
from clarion.store.settings import set_paused
from clarion.store.stats import queue_counter
from clarion.store.tables import MESSAGE_STATES
from clarion.web.frame import app_page
from clarion.web.pages import (
    PageError,
    error_page,
    first,
    local_path,
    message_page,
    optional_id,
    parse_id,
    read_form,
    see_other,
)
from clarion.web.session import AdminSignedIn

router = APIRouter(prefix="/admin", tags=["web"], include_in_schema=False)
PAGE_SIZE = 50


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else ""


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@router.get("/messages")
async def messages_log(
    request: Request,
    service: ServiceDep,
    principal: AdminSignedIn,
    status: str = "",
    method: str = "",
    event_type: str = "",
    event_id: str = "",
    cursor: str = "",
) -> Response:
    filters = LogFilter(
        status=status if status in MESSAGE_STATES else None,
        method=method or None,
        event_type=event_type or None,
        event_id=optional_id(event_id),
    )
    async with service.db.read() as conn:
        try:
            found = await messages.log_page(conn, filters, limit=PAGE_SIZE, cursor=cursor or None)
        except CursorError:
            message = "cursor: not a cursor from a previous page; open the log from its start."
            raise PageError(422, "Not understood", message) from None
        types = await types_store.list_event_types(conn)
    snapshot = await queue_counter(service.db).snapshot(fresh=True)  # as the API's stats
    age = snapshot.oldest_pending_age(datetime.now(UTC))
    rows = [
        {
            "id": r["id"],
            "title": (r["content"] or {}).get("title"),
            "event_type": r["event_type"],
            "recipient": r["recipient"],
            "method": r["method"],
            "status": r["status"],
            "status_reason": r["status_reason"],
            "attempt_count": r["attempt_count"],
            "created_at": _when(r["created_at"]),
        }
        for r in found.rows
    ]
    query = {
        k: v
        for k, v in (
            ("status", status),
            ("method", method),
            ("event_type", event_type),
            ("event_id", event_id),
        )
        if v
    }
    next_url = (
        "/admin/messages?" + urlencode({**query, "cursor": found.next_cursor})
        if found.next_cursor
        else ""
    )
    return await app_page(
        request,
        service,
        principal,
        "messages.html",
        "Message log",
        "messages",
        rows=rows,
        next_url=next_url,
        filters=filters,
        filtered=bool(query),
        statuses=MESSAGE_STATES,
        methods=sorted({*METHODS, *(r["method"] for r in rows)}),
        event_types=types,
        counts=snapshot.by_status,
        oldest_pending=_age(age),
    )


@router.get("/messages/{ref}")
async def message_detail(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    message_id = parse_id(ref, "message")
    async with service.db.read() as conn:
        row = await messages.logged_message(conn, message_id)
        attempts = await message_attempts_of(conn, message_id) if row else []
    if row is None:
        return message_page(service.brand, 404, "Not found", f"There is no message {message_id}.")
    content: dict[str, Any] = row["content"] or {}
    m = dict(row)
    for key in ("created_at", "sent_at", "next_retry_after"):
        m[key] = _when(m[key])
    return await app_page(
        request,
        service,
        principal,
        "message_detail.html",
        content.get("title") or row["event_type"],
        "messages",
        m=m,
        content=content,
        # Sanitized with nh3 when the message was rendered.
        body_html=Markup(content.get("body_html", "")),
        retryable=row["status"] in messages.RETRYABLE,
        interactions=[
            {"action": i.action, "actor": i.actor, "at": _when(i.at), "provider": i.provider}
            for i in await interactions_of(service.db, message_id)
        ],
        attempts=[
            {**a._mapping, "started_at": _when(a.started_at), "finished_at": _when(a.finished_at)}
            for a in attempts
        ],
    )


@router.post("/messages/{ref}/retry")
async def retry_message(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    message_id = parse_id(ref, "message")
    await read_form(request)  # its size and content are checked like every form's
    try:
        await messages.retry_failed(service.db, message_id, requested_by=principal.name)
    except ClarionError as exc:
        return error_page(service.brand, exc)
    return see_other(f"/admin/messages/{message_id}")


@router.get("/event-types")
async def event_types(
    request: Request, service: ServiceDep, principal: AdminSignedIn, saved: str = ""
) -> Response:
    listing = await EventTypes(service.db, service.settings.method).list_all()
    types = listing.types
    groups = [(group, list(rows)) for group, rows in groupby(types, key=lambda t: t.group)]
    names = {t.key: t.name for t in types}
    return await app_page(
        request,
        service,
        principal,
        "event_types.html",
        "Event types",
        "event-types",
        groups=groups,
        methods=METHODS,
        default_method=service.settings.method,
        saved=names.get(saved, ""),
    )


@router.post("/event-types/{key}")
async def update_event_type(
    key: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    form = await read_form(request)
    method = first(form, "method")
    try:
        await EventTypes(service.db, service.settings.method).set_choices(
            key,
            enabled=first(form, "enabled") == "true",
            method=method or None,
            use_default_method=not method,
        )
    except ClarionError as exc:
        return error_page(service.brand, exc)
    return see_other(f"/admin/event-types?{urlencode({'saved': key})}#{key}")


@router.post("/pause")
async def pause(request: Request, service: ServiceDep, principal: AdminSignedIn) -> Response:
    form = await read_form(request)
    if first(form, "paused") not in ("true", "false"):
        return message_page(service.brand, 422, "Not understood", "paused: send true or false.")
    await set_paused(service.db, first(form, "paused") == "true")
    return see_other(local_path(first(form, "next"), "/admin/messages"))
