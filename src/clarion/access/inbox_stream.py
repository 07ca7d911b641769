"""The inbox's live stream, as Server-Sent Events: the API's stream (bearer token) and the
web inbox page's (session cookie) are this one stream with a different re-check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from clarion.access.principal import Principal
from clarion.service import Service
from clarion.store import inbox as store
from clarion.store.db import Database


class InboxItem(BaseModel):
    """One inbox message as the API lists it and the stream sends it."""

    id: str
    event_type: str
    title: str | None
    body_markdown: str | None
    body_html: str | None
    body_text: str | None
    actions: list[dict[str, Any]]
    read_at: str | None
    created_at: str
    sent_at: str | None

    @classmethod
    def of(cls, row: store.InboxRow) -> InboxItem:
        content = row.content or {}
        return cls(
            id=str(row.id),
            event_type=row.event_type,
            title=content.get("title"),
            body_markdown=content.get("body_markdown"),
            body_html=content.get("body_html"),
            body_text=content.get("body_text"),
            actions=content.get("actions", []),
            read_at=row.read_at.isoformat() if row.read_at else None,
            created_at=row.created_at.isoformat(),
            sent_at=row.sent_at.isoformat() if row.sent_at else None,
        )


# Who the caller is now: their token or session looked up again.
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
                    sent = [r.sent_at for r in rows if r.sent_at is not None]
                    if sent:
                        start = max(sent) + timedelta(microseconds=1)
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


async def _arrived(db: Database, user_id: uuid.UUID, start: datetime) -> list[store.InboxRow]:
    async with db.read() as conn:
        return await store.arrived_since(conn, user_id, start, limit=_BATCH)


def _event(row: store.InboxRow) -> str:
    return (
        f"id: {row.id}\nevent: notification\ndata: {json.dumps(InboxItem.of(row).model_dump())}\n\n"
    )
