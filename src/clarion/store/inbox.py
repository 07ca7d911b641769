"""The in-app inbox: messages the ``inbox`` method sent to a user, and their read state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store.tables import SENT, UTCDateTime, messages


@dataclass(frozen=True)
class InboxRow:
    """One delivered inbox message; ``content`` is what the message was rendered to."""

    id: uuid.UUID
    event_type: str
    content: dict[str, Any]
    read_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


def _inbox_query(user_id: uuid.UUID) -> Any:
    """The user's delivered inbox messages (callers order and narrow it)."""
    return sa.select(
        messages.c.id,
        messages.c.event_type,
        messages.c.content,
        messages.c.read_at,
        messages.c.created_at,
        messages.c.sent_at,
    ).where(messages.c.user_id == user_id, messages.c.method == "inbox", messages.c.status == SENT)


async def _rows(conn: AsyncConnection, query: Any) -> list[InboxRow]:
    return [InboxRow(**row._mapping) for row in await conn.execute(query)]


async def inbox_items(
    conn: AsyncConnection, user_id: uuid.UUID, *, limit: int, unread: bool = False
) -> list[InboxRow]:
    """Newest first."""
    query = _inbox_query(user_id)
    if unread:
        query = query.where(messages.c.read_at.is_(None))
    query = query.order_by(messages.c.sent_at.desc(), messages.c.id.desc()).limit(limit)
    return await _rows(conn, query)


async def arrived_since(
    conn: AsyncConnection, user_id: uuid.UUID, start: datetime, *, limit: int
) -> list[InboxRow]:
    """What was delivered at or after ``start``, oldest first (a live stream's next batch)."""
    query = (
        _inbox_query(user_id)
        .where(messages.c.sent_at >= start)
        .order_by(messages.c.sent_at, messages.c.id)
        .limit(limit)
    )
    return await _rows(conn, query)


async def unread_count(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    query = sa.select(sa.func.count()).where(
        messages.c.user_id == user_id,
        messages.c.method == "inbox",
        messages.c.status == SENT,
        messages.c.read_at.is_(None),
    )
    return int((await conn.execute(query)).scalar() or 0)


async def mark_all_read(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    """How many were unread."""
    result = await conn.execute(
        messages.update()
        .where(
            messages.c.user_id == user_id,
            messages.c.method == "inbox",
            messages.c.read_at.is_(None),
        )
        .values(read_at=datetime.now(UTC))
    )
    return int(result.rowcount or 0)


async def mark_read(conn: AsyncConnection, user_id: uuid.UUID, message_id: uuid.UUID) -> bool:
    """False if the user has no such inbox message; reading twice keeps the first time."""
    result = await conn.execute(
        messages.update()
        .where(
            messages.c.id == message_id,
            messages.c.user_id == user_id,
            messages.c.method == "inbox",
        )
        .values(
            read_at=sa.func.coalesce(
                messages.c.read_at, sa.literal(datetime.now(UTC), UTCDateTime())
            )
        )
    )
    return bool(result.rowcount)
