"""The in-app inbox: messages sent by the ``inbox`` method, read state, and a live SSE stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from clarion.api.deps import PrincipalDep, ServiceDep, require_user
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


def inbox_stream(request: Request, db: Database, user_id: uuid.UUID) -> StreamingResponse:
    """Server-Sent Events: one ``notification`` event per new inbox message of the user, as
    it arrives (the web inbox page listens to the same stream)."""

    async def events() -> AsyncIterator[str]:
        since = datetime.now(UTC)
        with db.inbox_subscription() as wakeups:
            yield ": connected\n\n"
            while not await request.is_disconnected():
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
                query = (
                    store.inbox_query(user_id)
                    .where(messages.c.sent_at >= since)
                    .order_by(messages.c.sent_at, messages.c.id)
                )
                async with db.read() as conn:
                    rows = (await conn.execute(query)).all()
                for row in rows:
                    yield f"id: {row.id}\nevent: notification\ndata: {json.dumps(_item(row))}\n\n"
                if rows:
                    since = max(r.sent_at for r in rows) + timedelta(microseconds=1)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/stream")
async def stream(
    request: Request, service: ServiceDep, principal: PrincipalDep
) -> StreamingResponse:
    """Server-Sent Events: one ``notification`` event per new inbox message, as it arrives."""
    return inbox_stream(request, service.db, require_user(principal).id)
