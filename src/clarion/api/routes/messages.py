"""The message log: list with filters (newest first, cursor paging), one message in full, and
the operator's summary (``GET /api/v1/messages/stats``)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query

from clarion.api.deps import AdminDep, PrincipalDep, ServiceDep
from clarion.api.jsonable import json_row
from clarion.config import parse_duration
from clarion.store.settings import is_paused
from clarion.store.stats import method_stats, queue_counter
from clarion.store.tables import MESSAGE_STATES, UTCDateTime, message_attempts, messages

router = APIRouter(prefix="/api/v1", tags=["messages"])

SUMMARY_COLUMNS = (
    messages.c.id,
    messages.c.event_id,
    messages.c.event_type,
    messages.c.user_id,
    messages.c.channel_id,
    messages.c.method,
    messages.c.recipient,
    messages.c.status,
    messages.c.status_reason,
    messages.c.attempt_count,
    messages.c.next_retry_after,
    messages.c.created_at,
    messages.c.updated_at,
    messages.c.sent_at,
)


def message_summary(row: Any) -> dict[str, Any]:
    out = json_row({k: v for k, v in row._mapping.items() if k not in ("payload", "content")})
    if "content" in row._mapping:
        out["title"] = (row._mapping["content"] or {}).get("title")
    return out


def encode_cursor(created_at: datetime, message_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, ident = raw.partition("|")
        return datetime.fromisoformat(when), uuid.UUID(ident)
    except ValueError:
        raise HTTPException(422, "cursor: not a cursor from a previous page") from None


@router.get("/messages")
async def list_messages(
    service: ServiceDep,
    principal: PrincipalDep,
    status: str | None = Query(None, description="one of " + ", ".join(MESSAGE_STATES)),
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
    query = sa.select(*SUMMARY_COLUMNS, messages.c.content)
    if not principal.is_admin:
        if principal.user is None:
            raise HTTPException(403, "no user")
        query = query.where(messages.c.user_id == principal.user.id)
    filters = {
        messages.c.status: status,
        messages.c.event_id: event_id,
        messages.c.user_id: user_id,
        messages.c.channel_id: channel_id,
        messages.c.method: method,
        messages.c.event_type: event_type,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if cursor:
        when, ident = decode_cursor(cursor)
        query = query.where(
            sa.tuple_(messages.c.created_at, messages.c.id)
            < sa.tuple_(sa.literal(when, UTCDateTime()), sa.literal(ident, sa.Uuid()))
        )
    query = query.order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(limit + 1)
    async with service.db.read() as conn:
        rows = (await conn.execute(query)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.created_at, last.id)
    return {"items": [message_summary(r) for r in rows], "next_cursor": next_cursor}


# Declared before /messages/{message_id}, which would otherwise take "stats" for an id.
@router.get("/messages/stats")
async def message_stats(
    service: ServiceDep,
    principal: AdminDep,
    since: str = Query("24h", description="window for by_method and window, e.g. 1h, 7d"),
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


@router.get("/messages/{message_id}")
async def get_message(
    message_id: uuid.UUID, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    async with service.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(*SUMMARY_COLUMNS, messages.c.payload, messages.c.content).where(
                    messages.c.id == message_id
                )
            )
        ).first()
        if row is None or (
            not principal.is_admin and (principal.user is None or row.user_id != principal.user.id)
        ):
            raise HTTPException(404, f"no message {message_id}")
        attempts = (
            await conn.execute(
                sa.select(message_attempts)
                .where(message_attempts.c.message_id == message_id)
                .order_by(message_attempts.c.attempt, message_attempts.c.id)
            )
        ).all()
    out = message_summary(row)
    out["payload"] = row.payload
    out["content"] = row.content
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
    return out
