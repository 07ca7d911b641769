"""The message log: messages newest first with filters and cursor paging, and one message with
its attempts, as stored. The API and the web pages read it through
:mod:`clarion.domain.messages`, which redacts a secret-bearing message before anyone sees it;
the dispatcher reads the queue, not the log, and still sends it."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.limits import request_time
from clarion.store.tables import UTCDateTime, message_attempts, messages

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


class CursorError(ValueError):
    """A cursor that did not come from a previous page."""


def encode_cursor(created_at: datetime, message_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, ident = raw.partition("|")
        # In UTC here: a time the database cannot hold fails as a bad cursor, not in the query.
        created_at, message_id = request_time(datetime.fromisoformat(when)), uuid.UUID(ident)
    except ValueError:
        raise CursorError("not a cursor from a previous page") from None
    return created_at, message_id


@dataclass(frozen=True)
class LogFilter:
    """Each set field narrows the log to messages with that value."""

    status: str | None = None
    event_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    channel_id: uuid.UUID | None = None
    method: str | None = None
    event_type: str | None = None


@dataclass
class LogPage:
    """Each row a message's columns by name."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


async def list_messages(
    conn: AsyncConnection, where: LogFilter, *, limit: int, cursor: str | None = None
) -> LogPage:
    """A page of the log (summary columns and the rendered content), newest first.

    Raises :class:`CursorError` for a cursor that is not one of ours."""
    query = sa.select(*SUMMARY_COLUMNS, messages.c.content)
    filters = {
        messages.c.status: where.status,
        messages.c.event_id: where.event_id,
        messages.c.user_id: where.user_id,
        messages.c.channel_id: where.channel_id,
        messages.c.method: where.method,
        messages.c.event_type: where.event_type,
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
    rows = [dict(row._mapping) for row in (await conn.execute(query)).all()]
    if len(rows) <= limit:
        return LogPage(rows)
    rows = rows[:limit]
    return LogPage(rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"]))


async def get_message(conn: AsyncConnection, message_id: uuid.UUID) -> dict[str, Any] | None:
    """One message's columns with its payload and content, or None."""
    query = sa.select(*SUMMARY_COLUMNS, messages.c.payload, messages.c.content).where(
        messages.c.id == message_id
    )
    row = (await conn.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def message_attempts_of(conn: AsyncConnection, message_id: uuid.UUID) -> list[Any]:
    query = (
        sa.select(message_attempts)
        .where(message_attempts.c.message_id == message_id)
        # In time order: a manual retry starts its attempts' numbers again from 1.
        .order_by(message_attempts.c.started_at, message_attempts.c.id)
    )
    return list((await conn.execute(query)).all())
