"""The in-app inbox: messages sent by the ``inbox`` method, read state, and a live SSE stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from clarion.api.deps import (
    BearerDep,
    Principal,
    PrincipalDep,
    ServiceDep,
    principal_for,
    require_user,
)
from clarion.limits import request_time
from clarion.service import Service
from clarion.store import inbox as store
from clarion.store.db import Database
from clarion.store.tables import messages

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])


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


Recheck = Callable[[], Awaitable[Principal | None]]


class _Stream(StreamingResponse):
    """Gives the user's stream slot back however the response ends: finished, cut off by the
    client, or never started."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None]):
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def inbox_stream(
    request: Request,
    service: Service,
    user_id: uuid.UUID,
    recheck: Recheck,
    since: datetime | None = None,
) -> StreamingResponse:
    """Server-Sent Events: one ``notification`` event per new inbox message of the user, as
    it arrives (the API's stream and the web inbox page's).

    ``since``: also send what arrived after this time (a page rendered then, reconnecting);
    ``recheck``: who the caller is now (their token or session looked up again), asked at
    each wake and heartbeat: the stream ends when it is no longer this user, so a revoked
    token, a suspended user or a signed-out session stops it. A stream also ends after
    ``stream_max_lifetime``; the client reconnects with ``since=``. Each user may hold
    ``streams_per_user`` streams in this process (then 429)."""
    settings = service.settings
    slots, key = service.limits.streams, str(user_id)
    if not slots.acquire(key):
        wait = max(1, math.ceil(settings.stream_heartbeat.total_seconds()))
        raise HTTPException(
            429,
            f"too many open inbox streams: at most {slots.per_user} per user; "
            "close one and try again",
            headers={"Retry-After": str(wait)},
        )
    heartbeat = settings.stream_heartbeat.total_seconds()
    db = service.db

    async def still_this_user() -> bool:
        now = await recheck()
        return now is not None and now.user is not None and now.user.id == user_id

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        ends = loop.time() + settings.stream_max_lifetime.total_seconds()
        start = datetime.now(UTC) if since is None else since
        pending = since is not None  # what arrived since then is sent at once
        with db.inbox_subscription() as wakeups:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                if not await still_this_user():
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
                    while (left := ends - loop.time()) > 0:
                        who = await asyncio.wait_for(wakeups.get(), min(heartbeat, left))
                        if who == key:
                            woke = True
                            break
                if not woke:
                    if loop.time() >= ends:
                        yield ": stream lifetime reached, reconnect with since=\n\n"
                        return
                    yield ": heartbeat\n\n"
                    continue
                pending = True

    return _Stream(events(), lambda: slots.release(key))


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
    credentials: BearerDep,
    since: datetime | None = Query(None, description="also send what arrived after this time"),
) -> StreamingResponse:
    """Server-Sent Events: one ``notification`` event per new inbox message, as it arrives."""
    try:
        start = request_time(since) if since is not None else None
    except ValueError as exc:
        raise HTTPException(422, f"since: {exc}") from None
    user = require_user(principal)
    token = credentials.credentials if credentials is not None else ""
    return inbox_stream(request, service, user.id, lambda: principal_for(service, token), start)
