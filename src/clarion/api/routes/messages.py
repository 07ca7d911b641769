"""The message log: list with filters (newest first, cursor paging), one message in full, and
the operator's summary (``GET /api/v1/messages/stats``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from clarion.access import AdminDep, PrincipalDep, ServiceDep
from clarion.api.jsonable import json_row
from clarion.api.schemas import MessageDetail, MessageList, MessageStats
from clarion.config import DURATION_PATTERN, parse_duration
from clarion.domain import messages
from clarion.limits import MAX_WINDOW
from clarion.store import message_log as log
from clarion.store.interactions import interactions_of
from clarion.store.message_log import CursorError, LogFilter
from clarion.store.settings import is_paused
from clarion.store.stats import method_stats, queue_counter
from clarion.store.tables import MESSAGE_STATES

router = APIRouter(prefix="/api/v1", tags=["messages"])


def message_summary(row: dict[str, Any]) -> dict[str, Any]:
    out = json_row({k: v for k, v in row.items() if k not in ("payload", "content")})
    if "content" in row:
        out["title"] = (row["content"] or {}).get("title")
    return out


@router.get("/messages", response_model=MessageList)
async def list_messages(
    service: ServiceDep,
    principal: PrincipalDep,
    status: str | None = Query(
        None,
        description="one of " + ", ".join(MESSAGE_STATES),
        json_schema_extra={"enum": list(MESSAGE_STATES)},
    ),
    event_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    channel_id: uuid.UUID | None = None,
    method: str | None = None,
    event_type: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    if status is not None and status not in MESSAGE_STATES:
        raise HTTPException(422, f"status: {status!r} is not one of {', '.join(MESSAGE_STATES)}")
    only_user = user_id
    if not principal.is_admin:
        if principal.user is None:
            raise HTTPException(403, "no user")
        if user_id is not None and user_id != principal.user.id:
            return {"items": [], "next_cursor": None}
        only_user = principal.user.id
    where = LogFilter(status, event_id, only_user, channel_id, method, event_type)
    async with service.db.read() as conn:
        try:
            found = await messages.log_page(conn, where, limit=limit, cursor=cursor)
        except CursorError:
            raise HTTPException(422, "cursor: not a cursor from a previous page") from None
    return {"items": [message_summary(r) for r in found.rows], "next_cursor": found.next_cursor}


# Declared before /messages/{message_id}, which would otherwise take "stats" for an id.
@router.get("/messages/stats", response_model=MessageStats)
async def message_stats(
    service: ServiceDep,
    principal: AdminDep,
    since: str = Query(
        "24h",
        description="window for by_method and window, e.g. 1h, 7d",
        json_schema_extra={"pattern": DURATION_PATTERN},
    ),
) -> dict[str, Any]:
    """The queue now, and what happened to the messages created within ``since``, by method.

    ``by_status`` and ``oldest_pending_age_seconds`` cover every message kept; ``by_method``
    and ``window`` only those created in the window (``retried`` counts retry attempts).
    """
    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise HTTPException(422, f"since: {exc}") from None
    if window <= timedelta(0):
        raise HTTPException(422, "since: must be longer than zero, e.g. 1h")
    if window > MAX_WINDOW:
        raise HTTPException(422, f"since: at most {MAX_WINDOW.days}d")
    now = datetime.now(UTC)
    start = now - window
    snapshot = await queue_counter(service.db).snapshot(fresh=True)
    recent = await method_stats(service.db, start)
    return {
        "paused": await is_paused(service.db),
        "dispatching": service.dispatching,
        "by_status": snapshot.by_status,
        "oldest_pending_age_seconds": snapshot.oldest_pending_age(now),
        "since": start.isoformat(),
        "window_seconds": window.total_seconds(),
        "by_method": recent.by_method,
        "window": recent.totals(),
    }


@router.get("/messages/{message_id:uuid}", response_model=MessageDetail)
async def get_message(
    message_id: uuid.UUID, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    return await _message(service, message_id, principal)


@router.post("/messages/{message_id:uuid}/retry", status_code=202, response_model=MessageDetail)
async def retry_message(
    message_id: uuid.UUID, service: ServiceDep, principal: AdminDep
) -> dict[str, Any]:
    """Send a failed message again now, with a fresh round of attempts (409 if not failed)."""
    await messages.retry_failed(service.db, message_id, requested_by=principal.name)
    return await _message(service, message_id, principal)


async def _message(
    service: ServiceDep, message_id: uuid.UUID, principal: PrincipalDep
) -> dict[str, Any]:
    async with service.db.read() as conn:
        row = await messages.logged_message(conn, message_id)
        if row is None or (
            not principal.is_admin
            and (principal.user is None or row["user_id"] != principal.user.id)
        ):
            raise HTTPException(404, f"no message {message_id}")
        attempts = await log.message_attempts_of(conn, message_id)
    out = message_summary(row)
    out["payload"] = row["payload"]
    out["content"] = row["content"]
    out["attempts"] = [
        {
            "attempt": a.attempt,
            "outcome": a.outcome,
            "detail": a.detail,
            "started_at": a.started_at.isoformat(),
            "finished_at": a.finished_at.isoformat(),
        }
        for a in attempts
    ]
    out["interactions"] = [
        {"provider": i.provider, "action": i.action, "actor": i.actor, "at": i.at.isoformat()}
        for i in await interactions_of(service.db, message_id)
    ]
    return out
