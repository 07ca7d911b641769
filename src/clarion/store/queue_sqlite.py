"""The queue's hot statements on SQLite, written out and run through ``exec_driver_sql``.

Values are converted here to the forms SQLAlchemy stores on SQLite (UUIDs as 32 hex digits,
UTC times as ``YYYY-MM-DD HH:MM:SS.ffffff``, JSON as text) and back, which skips its
per-row processing (it cost more than SQLite's own work on these statements). Every write
transaction is ``BEGIN IMMEDIATE`` (see :mod:`clarion.store.db`), which serialises claims;
claims, completions and new events (:func:`store_new`) run whole in one trip to the
connection's thread (:meth:`~clarion.store.db.Database.sqlite_transaction`).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from clarion import encoding
from clarion.store.db import Database, in_sqlite_thread

_INSERT_MESSAGES = """
INSERT INTO messages (id, event_id, event_type, user_id, channel_id, method, recipient, status,
    status_reason, attempt_count, claimable_at, payload, content, dedupe_hash, created_at,
    updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)
ON CONFLICT (dedupe_hash) DO NOTHING
"""

_INSERT_EVENTS = """
INSERT INTO events (id, type, user_id, labels, data, targets, created_by, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""

_CLAIM = """
UPDATE messages
SET status = 'leased', lease_id = ?, leased_until = ?, claimable_at = ?,
    attempt_count = attempt_count + 1, updated_at = ?
WHERE id IN (SELECT id FROM messages WHERE claimable_at <= ? ORDER BY claimable_at LIMIT ?)
RETURNING id, event_type, user_id, channel_id, method, recipient, attempt_count,
    payload, content, created_at
"""

_COMPLETE = """
UPDATE messages
SET status = ?, status_reason = ?, next_retry_after = ?, claimable_at = ?, leased_until = NULL,
    lease_id = NULL, sent_at = ?, updated_at = ?, attempt_count = attempt_count - ?
WHERE id = ? AND lease_id = ? AND status = 'leased'
"""

_NEXT_DUE = "SELECT min(claimable_at) FROM messages WHERE claimable_at IS NOT NULL"

# A message deleted meanwhile (retention) gets no attempt row: the insert must not fail.
_ATTEMPTS = """
INSERT INTO message_attempts (message_id, attempt, outcome, detail, started_at, finished_at)
SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?)
"""


def db_time(value: datetime | None) -> str | None:
    """A UTC time as SQLAlchemy's DateTime stores it on SQLite (so comparisons agree)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # "YYYY-MM-DD HH:MM:SS.ffffff"; isoformat is three times faster than strftime.
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else value.hex


def _uuid(text: str | None) -> uuid.UUID | None:
    return None if text is None else uuid.UUID(text)


def _event_params(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            r["id"].hex,
            r["type"],
            _id(r["user_id"]),
            encoding.dumps_text(r["labels"]),
            encoding.dumps_text_or_none(r["data"]),
            encoding.dumps_text_or_none(r["targets"]),
            _id(r["created_by"]),
            db_time(r["created_at"]),
        )
        for r in rows
    ]


def _message_params(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            r["id"].hex,
            r["event_id"].hex,
            r["event_type"],
            _id(r["user_id"]),
            _id(r["channel_id"]),
            r["method"],
            r["recipient"],
            r["status"],
            r["status_reason"],
            db_time(r["claimable_at"]),
            encoding.dumps_text(r["payload"]),
            encoding.dumps_text(r["content"]),
            r["dedupe_hash"],
            db_time(r["created_at"]),
            db_time(r["created_at"]),
        )
        for r in rows
    ]


def _insert(
    conn: sqlite3.Connection,
    event_params: list[tuple[Any, ...]],
    message_params: list[tuple[Any, ...]],
    message_rows: Sequence[dict[str, Any]],
) -> set[uuid.UUID]:
    """In the connection's thread: insert events, then messages, skipping those whose dedupe
    hash is taken; the ids of the messages inserted. Parameters are built beforehand, on the
    event loop, so that the write lock is not held while converting values."""
    if event_params:
        conn.executemany(_INSERT_EVENTS, event_params)
    if not message_params:
        return set()
    before = conn.total_changes
    conn.executemany(_INSERT_MESSAGES, message_params)
    if conn.total_changes - before == len(message_rows):
        return {r["id"] for r in message_rows}  # the usual case: nothing was a duplicate
    hashes = [r["dedupe_hash"] for r in message_rows if r["dedupe_hash"]]
    marks = ", ".join("?" * len(hashes))
    taken = conn.execute(
        f"SELECT dedupe_hash, id FROM messages WHERE dedupe_hash IN ({marks})", hashes
    )
    owner = dict(taken.fetchall())
    return {
        r["id"] for r in message_rows if owner.get(r["dedupe_hash"], r["id"].hex) == r["id"].hex
    }


async def insert_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    params = _event_params(rows)
    await in_sqlite_thread(conn, lambda c: _insert(c, params, [], []))


async def insert_messages(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    params = _message_params(rows)
    return await in_sqlite_thread(conn, lambda c: _insert(c, [], params, rows))


async def store_new(
    db: Database, event_rows: Sequence[dict[str, Any]], message_rows: Sequence[dict[str, Any]]
) -> set[uuid.UUID]:
    """Events and their messages in a transaction of their own, in one trip to the thread."""
    events, messages = _event_params(event_rows), _message_params(message_rows)
    return await db.sqlite_transaction(lambda c: _insert(c, events, messages, message_rows))


async def claim(
    db: Database, lease_id: uuid.UUID, leased_until: datetime, now: datetime, limit: int
) -> tuple[list[dict[str, Any]], datetime | None]:
    """The claimed rows and, if fewer than ``limit``, when the next message is due."""
    until, at = db_time(leased_until), db_time(now)
    params = (lease_id.hex, until, until, at, at, limit)

    def work(conn: sqlite3.Connection) -> tuple[list[Any], str | None]:
        rows = conn.execute(_CLAIM, params).fetchall()
        due = conn.execute(_NEXT_DUE).fetchone()[0] if len(rows) < limit else None
        return rows, due

    rows, due = await db.sqlite_transaction(work)
    return [
        {
            "id": uuid.UUID(row[0]),
            "event_type": row[1],
            "user_id": _uuid(row[2]),
            "channel_id": _uuid(row[3]),
            "method": row[4],
            "recipient": row[5],
            "attempt_count": row[6],
            "payload": encoding.loads(row[7]),
            "content": encoding.loads(row[8]),
            "created_at": _time(row[9]),
        }
        for row in rows
    ], _time(due) if due else None


async def complete(
    db: Database,
    updates: Sequence[tuple[Any, ...]],
    attempts: Sequence[tuple[Any, ...]],
    inbox_users: set[str],
) -> int:
    """``inbox_users`` is unused: on SQLite one process serves the inbox streams, and the
    dispatcher tells them itself."""
    params = []
    for message_id, lease_id, status, reason, next_at, sent_at, finished_at, uncount in updates:
        at, sent, finished = db_time(next_at), db_time(sent_at), db_time(finished_at)
        params.append(
            (status, reason, at, at, sent, finished, uncount, message_id.hex, lease_id.hex)
        )
    attempt_params = [
        (m.hex, n, outcome, detail, db_time(started), db_time(finished), m.hex)
        for m, n, outcome, detail, started, finished in attempts
    ]

    def work(conn: sqlite3.Connection) -> int:
        before = conn.total_changes
        conn.executemany(_COMPLETE, params)
        changed = conn.total_changes - before
        if attempt_params:
            conn.executemany(_ATTEMPTS, attempt_params)
        return changed

    return await db.sqlite_transaction(work)
