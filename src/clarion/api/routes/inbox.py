"""The in-app inbox: messages sent by the ``inbox`` method, read state, and a live SSE stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from clarion.api.deps import PrincipalDep, ServiceDep, require_user
from clarion.limits import request_time
from clarion.store import inbox as store
from clarion.store.db import Database
from clarion.store.tables import messages

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])
HEARTBEAT_SECONDS = 15.0


def _item(row: Any) -> dict[str, Any]:
    content = row.content or {}
    return {
        "id": str(row.id),
        "event_type": row.event_type,
        "title": content.get("title"),
        "body_markdown": content.get("body_markdown"),
        "body_html": content.get("body_html"),
        "body_text": content.get("body_text"),
        "actions": content.get("actions", []),
        "read_at": row.read_at.isoformat() if row.read_at else None,
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }


async def _unread_count(db: Database, user_id: uuid.UUID) -> int:
    async with db.read() as conn:
        return await store.unread_count(conn, user_id)


@router.get("")
async def list_inbox(
    service: ServiceDep,
    principal: PrincipalDep,
    unread: bool = False,
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    user = require_user(principal)
    async with service.db.read() as conn:
        rows = await store.inbox_items(conn, user.id, limit=limit, unread=unread)
    return {
        "items": [_item(r) for r in rows],
        "unread_count": await _unread_count(service.db, user.id),
    }


@router.post("/read-all")
async def mark_all_read(service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    user = require_user(principal)
    async with service.db.begin() as conn:
        marked = await store.mark_all_read(conn, user.id)
    return {"marked": marked, "unread_count": 0}


@router.post("/{message_id}/read")
async def mark_read(
    message_id: uuid.UUID, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    user = require_user(principal)
    async with service.db.begin() as conn:
        found = await store.mark_read(conn, user.id, message_id)
    if not found:
        raise HTTPException(404, f"no inbox message {message_id}")
    return {"id": str(message_id), "unread_count": await _unread_count(service.db, user.id)}


Allowed = Callable[[], Awaitable[bool]]


def inbox_stream(
    request: Request,
    db: Database,
    user_id: uuid.UUID,
    since: datetime | None = None,
    allowed: Allowed | None = None,
) -> StreamingResponse:
    """Server-Sent Events: one ``notification`` event per new inbox message of the user, as
    it arrives (the web inbox page listens to the same stream).

    ``since``: also send what arrived after this time (a page rendered then, reconnecting);
    ``allowed``: asked at each wake and heartbeat, the stream ends when it says no (the
    session behind it ended)."""

    async def events() -> AsyncIterator[str]:
        start = datetime.now(UTC) if since is None else since
        pending = since is not None  # what arrived since then is sent at once
        with db.inbox_subscription() as wakeups:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                if allowed is not None and not await allowed():
                    return
                if pending:
                    rows = await _arrived(db, user_id, start)
                    for row in rows:
                        yield _event(row)
                    if rows:
                        start = max(r.sent_at for r in rows) + timedelta(microseconds=1)
                    pending = len(rows) == _BATCH
                    continue
                woke = False
                with contextlib.suppress(TimeoutError):
                    while True:
                        who = await asyncio.wait_for(wakeups.get(), HEARTBEAT_SECONDS)
                        if who == str(user_id):
                            woke = True
                            break
                if not woke:
                    yield ": heartbeat\n\n"
                    continue
                pending = True

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


_BATCH = 100


async def _arrived(db: Database, user_id: uuid.UUID, start: datetime) -> list[Any]:
    query = (
        store.inbox_query(user_id)
        .where(messages.c.sent_at >= start)
        .order_by(messages.c.sent_at, messages.c.id)
        .limit(_BATCH)
    )
    async with db.read() as conn:
        return list((await conn.execute(query)).all())


def _event(row: Any) -> str:
    return f"id: {row.id}\nevent: notification\ndata: {json.dumps(_item(row))}\n\n"


@router.get("/stream")
async def stream(
    request: Request,
    service: ServiceDep,
    principal: PrincipalDep,
    since: datetime | None = Query(None, description="also send what arrived after this time"),
) -> StreamingResponse:
    """Server-Sent Events: one ``notification`` event per new inbox message, as it arrives."""
    try:
        start = request_time(since) if since is not None else None
    except ValueError as exc:
        raise HTTPException(422, f"since: {exc}") from None
    return inbox_stream(request, service.db, require_user(principal).id, start)
