"""The queue's hot statements on PostgreSQL: one statement per batch, over arrays.

Intake inserts a batch of events and of messages with one ``INSERT … SELECT FROM unnest``
each; a completion batch is one statement (``UPDATE … FROM unnest`` and the attempts'
``INSERT``). The claim and the completion run
on the pooled asyncpg connection itself (see :meth:`Database.raw_postgres`), so no row goes
through SQLAlchemy's parameter and result processing. Rows come in as the dicts and tuples
:mod:`clarion.store.queue` builds, in the column orders it names.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clarion import encoding
from clarion.store.db import INBOX_CHANNEL, Database

# Only the columns intake sets; the rest keep their defaults (NULL, attempt_count 0).
_INSERT_MESSAGES = """
INSERT INTO messages (id, event_id, event_type, user_id, channel_id, method, recipient, status,
    status_reason, claimable_at, payload, content, dedupe_hash, created_at, updated_at)
SELECT i, e, t, u, ch, m, r, s, sr, ca, p::jsonb, c::jsonb, d, n, n
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
            $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[], $13::text[],
            $14::timestamptz[]) AS x(i, e, t, u, ch, m, r, s, sr, ca, p, c, d, n)
ON CONFLICT (dedupe_hash) DO NOTHING
RETURNING id
"""

_INSERT_EVENTS = """
INSERT INTO events (id, type, user_id, labels, data, targets, created_by, created_at)
SELECT i, t, u, l::jsonb, d::jsonb, g::jsonb, b, n
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[],
            $7::uuid[], $8::timestamptz[]) AS x(i, t, u, l, d, g, b, n)
"""

_CLAIM = """
UPDATE messages
SET status = 'leased', lease_id = $1, leased_until = $2, claimable_at = $2,
    attempt_count = attempt_count + 1, updated_at = $3
WHERE id IN (
    SELECT id FROM messages WHERE claimable_at <= $3
    ORDER BY claimable_at LIMIT $4 FOR UPDATE SKIP LOCKED
)
RETURNING id, event_type, user_id, channel_id, method, recipient, attempt_count,
    payload, content, created_at
"""

# One statement, so no BEGIN/COMMIT trips: the outcomes, the attempts (a message deleted
# meanwhile by retention gets no attempt row: the insert must not fail), and the notices
# to other replicas' inbox streams; the number of messages changed.
_COMPLETE = """
WITH done AS (
    UPDATE messages AS m
    SET status = c.status, status_reason = c.reason, next_retry_after = c.next_at,
        claimable_at = c.next_at, leased_until = NULL, lease_id = NULL, sent_at = c.sent_at,
        updated_at = c.finished_at, attempt_count = m.attempt_count - c.uncount
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[],
                $6::timestamptz[], $7::timestamptz[], $8::int[])
        AS c(id, lease_id, status, reason, next_at, sent_at, finished_at, uncount)
    WHERE m.id = c.id AND m.lease_id = c.lease_id AND m.status = 'leased'
    RETURNING 1
), attempts AS (
    INSERT INTO message_attempts (message_id, attempt, outcome, detail, started_at, finished_at)
    SELECT a.* FROM unnest($9::uuid[], $10::int[], $11::text[], $12::text[],
                           $13::timestamptz[], $14::timestamptz[])
        AS a(message_id, attempt, outcome, detail, s, f)
    WHERE EXISTS (SELECT 1 FROM messages AS x WHERE x.id = a.message_id)
), notices AS (
    SELECT pg_notify($15, u) FROM unnest($16::text[]) AS u
)
SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM notices)
"""

_NEXT_DUE = "SELECT min(claimable_at) FROM messages WHERE claimable_at IS NOT NULL"


async def insert_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    await conn.exec_driver_sql(
        _INSERT_EVENTS,
        (
            [r["id"] for r in rows],
            [r["type"] for r in rows],
            [r["user_id"] for r in rows],
            [encoding.dumps_text(r["labels"]) for r in rows],
            [encoding.dumps_text_or_none(r["data"]) for r in rows],
            [encoding.dumps_text_or_none(r["targets"]) for r in rows],
            [r["created_by"] for r in rows],
            [r["created_at"] for r in rows],
        ),
    )


async def insert_messages(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    # In dedupe-hash order: a transaction waits for another inserting the same hash, and
    # two taking shared hashes in opposite orders would deadlock.
    rows = sorted(rows, key=lambda r: r["dedupe_hash"] or "")
    result = await conn.exec_driver_sql(
        _INSERT_MESSAGES,
        (
            [r["id"] for r in rows],
            [r["event_id"] for r in rows],
            [r["event_type"] for r in rows],
            [r["user_id"] for r in rows],
            [r["channel_id"] for r in rows],
            [r["method"] for r in rows],
            [r["recipient"] for r in rows],
            [r["status"] for r in rows],
            [r["status_reason"] for r in rows],
            [r["claimable_at"] for r in rows],
            [encoding.dumps_text(r["payload"]) for r in rows],
            [encoding.dumps_text(r["content"]) for r in rows],
            [r["dedupe_hash"] for r in rows],
            [r["created_at"] for r in rows],
        ),
    )
    return {row[0] for row in result}


async def claim(
    db: Database, lease_id: uuid.UUID, leased_until: datetime, now: datetime, limit: int
) -> tuple[list[dict[str, Any]], datetime | None]:
    """The claimed rows and, if fewer than ``limit``, when the next message is due."""
    async with db.raw_postgres() as conn:  # one statement: its own transaction
        rows = await conn.fetch(_CLAIM, lease_id, leased_until, now, limit)
        next_due = await conn.fetchval(_NEXT_DUE) if len(rows) < limit else None
    return [dict(row) for row in rows], next_due


async def complete(
    db: Database,
    updates: Sequence[tuple[Any, ...]],
    attempts: Sequence[tuple[Any, ...]],
    inbox_users: set[str],
) -> int:
    """``inbox_users``: their streams, on every replica, hear of it on commit."""
    updates_by_column = [list(c) for c in zip(*updates, strict=True)]
    attempts_by_column = [list(c) for c in zip(*attempts, strict=True)] or [[]] * 6
    async with db.raw_postgres() as conn:
        changed = await conn.fetchval(
            _COMPLETE, *updates_by_column, *attempts_by_column, INBOX_CHANNEL, list(inbox_users)
        )
    return int(changed)
