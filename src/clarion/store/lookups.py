"""What intake reads in bulk: users by id or email, preferences for one event type, and the
queued messages holding dedupe hashes.

The queries are built once and run with expanding parameters: building a select costs ~50 µs
a call, much of a small group's planning time outside the database (single events come in
such groups).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store.tables import messages, preferences, users
from clarion.store.users import User, user_from_row

_USERS = sa.select(users).where(
    sa.or_(
        users.c.id.in_(sa.bindparam("ids", expanding=True)),
        users.c.email.in_(sa.bindparam("emails", expanding=True)),
    )
)
_CHUNK = 10_000  # ids and emails in one query, well under PostgreSQL's parameter limit
_PREFERENCES = sa.select(preferences.c.user_id, preferences.c.disabled).where(
    preferences.c.user_id.in_(sa.bindparam("user_ids", expanding=True)),
    preferences.c.event_type == sa.bindparam("event_type"),
)
_HOLDERS = sa.select(messages.c.dedupe_hash, messages.c.id, messages.c.status).where(
    messages.c.dedupe_hash.in_(sa.bindparam("hashes", expanding=True))
)


class QueuedMessage(NamedTuple):
    id: uuid.UUID
    status: str


async def users_by_ids_or_emails(
    conn: AsyncConnection, ids: Collection[uuid.UUID], emails: Collection[str]
) -> list[User]:
    """The users with any of these ids or (normalized) emails, in as few queries as
    PostgreSQL's parameter limit allows."""
    found: list[User] = []
    ids_left, emails_left = list(ids), list(emails)
    while ids_left or emails_left:
        # PostgreSQL takes at most 32767 parameters a query; a batch may name more.
        some_ids, ids_left = ids_left[:_CHUNK], ids_left[_CHUNK:]
        room = _CHUNK - len(some_ids)
        some_emails, emails_left = emails_left[:room], emails_left[room:]
        rows = await conn.execute(_USERS, {"ids": some_ids, "emails": some_emails})
        found += [user_from_row(row) for row in rows.all()]
    return found


async def explicit_preferences(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID], event_type: str
) -> dict[uuid.UUID, bool]:
    """Each user's stored choice for ``event_type`` (True: disabled); absent: none stored."""
    if not user_ids:
        return {}
    rows = await conn.execute(_PREFERENCES, {"user_ids": list(user_ids), "event_type": event_type})
    return {r.user_id: r.disabled for r in rows.all()}


async def dedupe_holders(conn: AsyncConnection, hashes: Sequence[str]) -> dict[str, QueuedMessage]:
    """The queued messages holding these dedupe hashes, by hash."""
    if not hashes:
        return {}
    rows = await conn.execute(_HOLDERS, {"hashes": list(hashes)})
    return {r.dedupe_hash: QueuedMessage(r.id, r.status) for r in rows.all()}
