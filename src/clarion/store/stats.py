"""Queue statistics for /metrics and the operator's ``clarion messages stats``, kept cheap.

The queue holds millions of finished rows (sent, failed, inhibited) and few unfinished
ones. Unfinished messages are exactly those with ``claimable_at`` set, so counting them
walks the partial index ``ix_messages_claimable`` and stays cheap however large the log
grows. Finished messages are counted with a scan of the status index, so /metrics reuses
that count for :data:`TERMINAL_COUNT_TTL` seconds instead of scanning on every scrape.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store.db import Database
from clarion.store.tables import (
    INHIBITED,
    LEASED,
    MESSAGE_STATES,
    PENDING,
    PERMANENT_FAILURE,
    SENT,
    TEMPORARY_FAILURE,
    message_attempts,
    messages,
)

ACTIVE_STATES = (PENDING, LEASED, TEMPORARY_FAILURE)
TERMINAL_STATES = (SENT, PERMANENT_FAILURE, INHIBITED)
TERMINAL_COUNT_TTL = 30.0


@dataclass(frozen=True)
class QueueSnapshot:
    by_status: dict[str, int]
    # created_at of the oldest message not yet finished (pending, leased or retrying).
    oldest_pending: datetime | None

    def oldest_pending_age(self, now: datetime) -> float | None:
        if self.oldest_pending is None:
            return None
        return max(0.0, (now - self.oldest_pending).total_seconds())


async def active_counts(conn: AsyncConnection) -> tuple[dict[str, int], datetime | None]:
    """Unfinished messages by status, and the oldest one's created_at (partial index only)."""
    rows = (
        await conn.execute(
            sa.select(messages.c.status, sa.func.count(), sa.func.min(messages.c.created_at))
            .where(messages.c.claimable_at.is_not(None))
            .group_by(messages.c.status)
        )
    ).all()
    counts = dict.fromkeys(ACTIVE_STATES, 0)
    oldest: datetime | None = None
    for status, count, first in rows:
        counts[status] = counts.get(status, 0) + int(count)
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return counts, oldest


async def terminal_counts(conn: AsyncConnection) -> dict[str, int]:
    """Finished messages by status: a scan of the status index, so not for every scrape."""
    rows = (
        await conn.execute(
            sa.select(messages.c.status, sa.func.count())
            .where(messages.c.status.in_(TERMINAL_STATES))
            .group_by(messages.c.status)
        )
    ).all()
    counts = dict.fromkeys(TERMINAL_STATES, 0)
    counts.update({status: int(count) for status, count in rows})
    return counts


class QueueCounter:
    """Message counts by status: unfinished ones fresh each call, finished ones cached."""

    def __init__(
        self,
        db: Database,
        *,
        ttl: float = TERMINAL_COUNT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.db = db
        self.ttl = ttl
        self.clock = clock
        self._terminal: dict[str, int] | None = None
        self._counted_at = 0.0

    async def snapshot(self, *, fresh: bool = False) -> QueueSnapshot:
        """Counts for every status; ``fresh`` recounts the finished ones now."""
        async with self.db.read() as conn:
            active, oldest = await active_counts(conn)
            terminal = self._terminal
            if fresh or terminal is None or self.clock() - self._counted_at >= self.ttl:
                terminal = await terminal_counts(conn)
                self._terminal, self._counted_at = terminal, self.clock()
        counts = {**terminal, **active}
        by_status = {status: counts.get(status, 0) for status in MESSAGE_STATES}
        return QueueSnapshot(by_status=by_status, oldest_pending=oldest)


_counters: weakref.WeakKeyDictionary[Database, QueueCounter] = weakref.WeakKeyDictionary()


def queue_counter(db: Database) -> QueueCounter:
    """The one counter (and so the one cache) per database handle."""
    counter = _counters.get(db)
    if counter is None:
        counter = _counters[db] = QueueCounter(db)
    return counter


@dataclass(frozen=True)
class MethodStats:
    """Messages created since a moment, by method and status, with their retry attempts.

    ``retried`` counts attempts that failed and were (or will be) tried again, as the
    ``retried`` result of clarion_deliveries_total does; an attempt after which the message
    was given up counts as ``permanent_failure`` only.
    """

    by_method: dict[str, dict[str, int]]

    def totals(self) -> dict[str, int]:
        """Over every method: messages, how many ended sent / failed, and retry attempts."""
        keys = ("messages", *MESSAGE_STATES, "retried")
        sums = {key: sum(row[key] for row in self.by_method.values()) for key in keys}
        return {
            "messages": sums["messages"],
            "sent": sums[SENT],
            "failed": sums[PERMANENT_FAILURE],
            "retried": sums["retried"],
            "unfinished": sum(sums[status] for status in ACTIVE_STATES),
            "inhibited": sums[INHIBITED],
        }


def _empty_row() -> dict[str, int]:
    return {"messages": 0, **dict.fromkeys(MESSAGE_STATES, 0), "retried": 0}


async def method_stats(db: Database, since: datetime) -> MethodStats:
    """Per method (``webhook``, ``channel:slack``, …): messages created since ``since``.

    Both queries walk ``ix_messages_created_at`` from ``since``, so their cost follows the
    window's size, not the whole log's.
    """
    by_status = (
        sa.select(messages.c.method, messages.c.status, sa.func.count())
        .where(messages.c.created_at >= since)
        .group_by(messages.c.method, messages.c.status)
    )
    retries = (
        sa.select(messages.c.method, sa.func.count())
        .select_from(
            message_attempts.join(messages, messages.c.id == message_attempts.c.message_id)
        )
        .where(
            messages.c.created_at >= since,
            message_attempts.c.outcome == "retry",
            # A message's last retry-outcome attempt is not a retry once it was given up.
            sa.or_(
                messages.c.status != PERMANENT_FAILURE,
                message_attempts.c.attempt < messages.c.attempt_count,
            ),
        )
        .group_by(messages.c.method)
    )
    by_method: dict[str, dict[str, int]] = {}
    async with db.read() as conn:
        for method, status, count in (await conn.execute(by_status)).all():
            row = by_method.setdefault(method, _empty_row())
            row[status] = row.get(status, 0) + int(count)
            row["messages"] += int(count)
        for method, count in (await conn.execute(retries)).all():
            by_method.setdefault(method, _empty_row())["retried"] = int(count)
    return MethodStats(by_method=dict(sorted(by_method.items())))
