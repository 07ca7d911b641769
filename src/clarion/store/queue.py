"""The durable queue, in one place: enqueue, claim in batches, complete in batches, purge.

On PostgreSQL the claim takes rows with ``FOR UPDATE SKIP LOCKED`` so replicas never claim
the same message; on SQLite every write transaction is ``BEGIN IMMEDIATE`` (see
:mod:`clarion.store.db`), which serialises claims. The statements that run for every
message (insert, claim, complete) are written out per engine, in
:mod:`clarion.store.queue_postgres` and :mod:`clarion.store.queue_sqlite`, one statement
per batch where the engine allows; the rest is SQLAlchemy Core.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store import queue_postgres, queue_sqlite
from clarion.store.db import Database
from clarion.store.tables import (
    INHIBITED,
    LEASED,
    PENDING,
    SENT,
    events,
    message_attempts,
    messages,
)

# claimable_at is set exactly while a message may still be sent (pending, temporary failure,
# leased) and NULL once it is sent, failed or inhibited. Claims filter on it alone, so both
# engines walk the partial index ix_messages_claimable in order. A status condition as well
# would lead SQLite's planner to the status index and a sort of every due row, a claim then
# growing with the size of the queue.


@dataclass(frozen=True)
class ClaimedMessage:
    id: uuid.UUID
    lease_id: uuid.UUID
    event_type: str
    user_id: uuid.UUID | None
    channel_id: uuid.UUID | None
    method: str
    recipient: str
    attempt_count: int
    payload: dict[str, Any]
    content: dict[str, Any]
    created_at: datetime
    leased_until: datetime


@dataclass(frozen=True)
class Completion:
    """The end of one attempt: the message's new state and the attempt's record."""

    message_id: uuid.UUID
    lease_id: uuid.UUID
    attempt: int
    status: str
    reason: str | None
    next_retry_after: datetime | None
    started_at: datetime
    finished_at: datetime
    outcome: str
    detail: str | None
    # False when the message was deferred unsent (rate limit): the claim's attempt is undone.
    counted: bool = True


def new_message_row(
    *,
    event_id: uuid.UUID,
    event_type: str,
    method: str,
    recipient: str,
    payload: dict[str, Any],
    content: dict[str, Any],
    now: datetime,
    user_id: uuid.UUID | None = None,
    channel_id: uuid.UUID | None = None,
    inhibited_reason: str | None = None,
    dedupe_hash: str | None = None,
) -> dict[str, Any]:
    status = INHIBITED if inhibited_reason else PENDING
    return {
        "id": uuid.uuid4(),
        "event_id": event_id,
        "event_type": event_type,
        "user_id": user_id,
        "channel_id": channel_id,
        "method": method,
        "recipient": recipient,
        "status": status,
        "status_reason": inhibited_reason,
        "attempt_count": 0,
        "next_retry_after": None,
        "claimable_at": None if inhibited_reason else now,
        "leased_until": None,
        "lease_id": None,
        "payload": payload,
        "content": content,
        "dedupe_hash": dedupe_hash,
        "read_at": None,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }


class QueueStatements(Protocol):
    """The queue's hot statements, written out per engine (queue_postgres, queue_sqlite)."""

    async def insert_events(
        self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]
    ) -> None: ...

    async def insert_messages(
        self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]
    ) -> set[uuid.UUID]: ...

    async def claim(
        self, db: Database, lease_id: uuid.UUID, leased_until: datetime, now: datetime, limit: int
    ) -> tuple[list[dict[str, Any]], datetime | None]: ...

    async def complete(
        self,
        db: Database,
        updates: Sequence[tuple[Any, ...]],
        attempts: Sequence[tuple[Any, ...]],
        inbox_users: set[str],
    ) -> int: ...


def _dialect(conn_or_db: AsyncConnection | Database) -> QueueStatements:
    if isinstance(conn_or_db, Database):
        return queue_postgres if conn_or_db.is_postgres else queue_sqlite
    return queue_postgres if conn_or_db.dialect.name == "postgresql" else queue_sqlite


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert event rows in the caller's transaction."""
    if rows:
        await _dialect(conn).insert_events(conn, rows)


async def insert_messages(conn: AsyncConnection, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert message rows (from :func:`new_message_row`) in the caller's transaction,
    skipping any whose dedupe hash is already taken (race-free); returns the ids inserted."""
    if not rows:
        return set()
    inserted = await _dialect(conn).insert_messages(conn, rows)
    return inserted


async def store_new(
    db: Database, event_rows: list[dict[str, Any]], message_rows: list[dict[str, Any]]
) -> set[uuid.UUID]:
    """Insert events and their messages in a transaction of their own and wake the
    dispatchers; returns the ids of the messages inserted (see :func:`insert_messages`).

    On SQLite the transaction is one trip to the database's thread, so the write lock is
    held only while SQLite works, not while this process's event loop is busy elsewhere.
    """
    if db.is_postgres:
        async with db.begin() as conn:
            await insert_events(conn, event_rows)
            inserted = await insert_messages(conn, message_rows)
            await db.notify_dispatch(conn)
    else:
        inserted = await queue_sqlite.store_new(db, event_rows, message_rows)
    db.wake_local()
    return inserted


@dataclass(frozen=True)
class Claim:
    messages: list[ClaimedMessage]
    # If fewer than the limit were claimed: when the earliest message still queued is due
    # (a retry, or the end of a lease, these included); None if none is queued.
    next_due: datetime | None


async def claim_due_messages(
    db: Database, *, limit: int, lease_period: timedelta, now: datetime
) -> Claim:
    """Lease up to ``limit`` due messages in one transaction and return them.

    Due: pending, a temporary failure whose retry time has come, or a lease that expired
    (its holder died). The oldest due first. Each claim counts as an attempt. A claim that
    took fewer also says when to look again, without another trip to the database.
    """
    lease_id = uuid.uuid4()
    until = now + lease_period
    rows, next_due = await _dialect(db).claim(db, lease_id, until, now, limit)
    claimed = [ClaimedMessage(lease_id=lease_id, leased_until=until, **row) for row in rows]
    claimed.sort(key=lambda m: m.created_at)
    return Claim(claimed, next_due)


async def complete_messages(
    db: Database, completions: Sequence[Completion], *, inbox_users: set[str] | None = None
) -> int:
    """Record a batch of attempts in one transaction; returns how many messages changed.

    A completion only applies while its lease is the message's current one: a worker whose
    lease expired and was taken over cannot overwrite the newer attempt's result. A
    completion that is not ``counted`` (deferred unsent) gives back the claim's attempt.
    """
    if not completions:
        return 0
    updates = [
        (
            c.message_id,
            c.lease_id,
            c.status,
            _storable(c.reason),
            c.next_retry_after,
            c.finished_at if c.status == SENT else None,
            c.finished_at,
            0 if c.counted else 1,
        )
        for c in completions
    ]
    attempts = [
        (c.message_id, c.attempt, c.outcome, _storable(c.detail), c.started_at, c.finished_at)
        for c in completions
        if c.counted
    ]
    changed = await _dialect(db).complete(db, updates, attempts, inbox_users or set())
    return changed


async def requeue(
    db: Database, message_id: uuid.UUID, *, from_statuses: Sequence[str], note: str
) -> str | None:
    """Make a message in one of ``from_statuses`` pending again, due now, with a fresh round
    of attempts, and record ``note`` in its history. Returns the status it was in (unchanged
    when not one of ``from_statuses``), or None when there is no such message."""
    now = datetime.now(UTC)
    async with db.begin() as conn:
        found = await conn.execute(
            sa.select(messages.c.status, messages.c.attempt_count).where(
                messages.c.id == message_id
            )
        )
        row = found.first()
        if row is None or row.status not in from_statuses:
            return None if row is None else str(row.status)
        changed = await conn.execute(
            messages.update()
            .where(messages.c.id == message_id, messages.c.status.in_(from_statuses))
            .values(
                status=PENDING,
                status_reason=None,
                next_retry_after=None,
                claimable_at=now,
                attempt_count=0,
                updated_at=now,
            )
        )
        if not changed.rowcount:  # claimed or changed since it was read: read it again
            return await _status_of(conn, message_id)
        await conn.execute(
            message_attempts.insert().values(
                message_id=message_id,
                attempt=row.attempt_count,
                outcome="requeued",
                detail=_storable(note),
                started_at=now,
                finished_at=now,
            )
        )
        await db.notify_dispatch(conn)
    db.wake_local()
    return str(row.status)


async def _status_of(conn: AsyncConnection, message_id: uuid.UUID) -> str | None:
    found = await conn.execute(sa.select(messages.c.status).where(messages.c.id == message_id))
    status = found.scalar_one_or_none()
    return None if status is None else str(status)


def _storable(text: str | None) -> str | None:
    """Reasons quote what a provider answered; PostgreSQL text cannot hold NUL, and one
    such character would fail the whole completion batch on every try."""
    if text is None or "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd")


async def purge_expired(db: Database, *, older_than: datetime, batch: int = 5000) -> int:
    """Delete messages (and their events, once empty) created before ``older_than``.

    A message whose lease still holds is being sent: it is kept until its outcome is in.
    """
    total = 0
    while True:
        held = messages.c.leased_until > datetime.now(UTC)
        in_flight = sa.and_(messages.c.status == LEASED, held)
        ids = (
            sa.select(messages.c.id)
            .where(messages.c.created_at < older_than, ~in_flight)
            .limit(batch)
        )
        async with db.begin() as conn:
            deleted = await conn.execute(messages.delete().where(messages.c.id.in_(ids)))
        total += int(deleted.rowcount or 0)
        if (deleted.rowcount or 0) < batch:
            break
    orphaned = sa.select(events.c.id).where(
        events.c.created_at < older_than,
        ~sa.exists().where(messages.c.event_id == events.c.id),
    )
    async with db.begin() as conn:
        await conn.execute(events.delete().where(events.c.id.in_(orphaned)))
    return total
